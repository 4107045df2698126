//go:build race

package codec_test

// raceEnabled: the race detector changes allocation counts (sync.Pool
// drops items on purpose), so exact allocation tests skip.
const raceEnabled = true
