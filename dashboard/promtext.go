package dashboard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The metric the dashboard reads from a server's Prometheus text
// (CONTRACTS: rpc_server_call_duration_seconds with the label rpc_method,
// and a non-empty error_type on failed calls).
const (
	histName     = "rpc_server_call_duration_seconds"
	labelMethod  = "rpc_method"
	labelErrType = "error_type"
)

// maxScrapeBytes caps the metrics body read from one server.
const maxScrapeBytes = 8 << 20

// methodCounts are the cumulative counters of one method, summed over
// every label but rpc_method: all calls, failed calls, and the cumulative
// bucket counts by upper bound (+Inf included).
type methodCounts struct {
	count   float64
	errors  float64
	buckets map[float64]float64
}

// snapshot is one scrape of a server: method -> counters.
type snapshot map[string]*methodCounts

// errNoHistogram is returned when a metrics page has no series of the
// histogram at all and no HELP/TYPE line for it either.
var errNoHistogram = errors.New("no " + histName + " in the metrics")

// parseMetrics reads Prometheus text exposition format and keeps the
// series of histName. A page that declares the histogram (# TYPE) but has
// no series yet gives an empty snapshot; a page without it gives
// errNoHistogram; a malformed line of the histogram gives an error.
func parseMetrics(r io.Reader) (snapshot, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxScrapeBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	snap := snapshot{}
	declared := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[1] == "TYPE" && f[2] == histName {
				declared = true
			}
			continue
		}
		if !strings.HasPrefix(line, histName+"_") {
			continue
		}
		if err := snap.addLine(line); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	if len(snap) == 0 && !declared {
		return nil, errNoHistogram
	}
	return snap, nil
}

// addLine adds one sample line of the histogram.
func (s snapshot) addLine(line string) error {
	name, labels, value, err := splitSample(line)
	if err != nil {
		return err
	}
	method := labels[labelMethod]
	mc := s[method]
	if mc == nil {
		mc = &methodCounts{buckets: map[float64]float64{}}
		s[method] = mc
	}
	switch strings.TrimPrefix(name, histName) {
	case "_count":
		mc.count += value
		if labels[labelErrType] != "" {
			mc.errors += value
		}
	case "_bucket":
		le, err := strconv.ParseFloat(labels["le"], 64)
		if err != nil {
			return fmt.Errorf("metrics line %q: bad le: %w", line, err)
		}
		mc.buckets[le] += value
	}
	return nil
}

// splitSample parses `name{l="v",...} value [timestamp]`.
func splitSample(line string) (string, map[string]string, float64, error) {
	labels := map[string]string{}
	name, rest := line, ""
	if i := strings.IndexAny(line, "{ \t"); i >= 0 {
		name, rest = line[:i], line[i:]
	}
	if strings.HasPrefix(rest, "{") {
		var err error
		rest, err = parseLabels(rest[1:], labels)
		if err != nil {
			return "", nil, 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", nil, 0, fmt.Errorf("metrics line %q: no value", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "", nil, 0, fmt.Errorf("metrics line %q: bad value: %w", line, err)
	}
	return name, labels, v, nil
}

// parseLabels reads `l="v",...}` into labels and returns what follows '}'.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " \t,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return "", errors.New("bad label")
		}
		key := strings.TrimSpace(s[:eq])
		var b strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(s[i])
				}
				continue
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", errors.New("unterminated label value")
		}
		labels[key] = b.String()
		s = s[i+1:]
	}
}

// quantile estimates the q-quantile from cumulative bucket counts as
// Prometheus's histogram_quantile does: linear interpolation inside the
// bucket that holds the rank; the +Inf bucket answers with the largest
// finite bound. NaN when there are no observations.
func quantile(q float64, buckets map[float64]float64) float64 {
	if len(buckets) == 0 {
		return math.NaN()
	}
	les := make([]float64, 0, len(buckets))
	for le := range buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	total := buckets[les[len(les)-1]]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevLE, prevCount := 0.0, 0.0
	for _, le := range les {
		c := buckets[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevLE
			}
			if c == prevCount {
				return le
			}
			return prevLE + (le-prevLE)*(rank-prevCount)/(c-prevCount)
		}
		prevLE, prevCount = le, c
	}
	return prevLE
}
