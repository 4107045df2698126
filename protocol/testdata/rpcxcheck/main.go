// Command rpcxcheck proves that the golden frames are rpcx v1.9.1's own
// encoding: it decodes every ../*.golden with rpcx's protocol package and
// re-encodes it, and exits 1 unless all are byte-identical. It is a separate
// module (under testdata, so the main module never sees rpcx):
//
//	cd protocol/testdata/rpcxcheck && go run .
package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/smallnest/rpcx/protocol"
)

func main() {
	files, err := filepath.Glob("../*.golden")
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "no golden files found; run from protocol/testdata/rpcxcheck")
		os.Exit(2)
	}
	bad := 0
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		frame, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
		if err != nil {
			fmt.Printf("%s: bad hex: %v\n", f, err)
			bad++
			continue
		}
		m := protocol.NewMessage()
		if err := m.Decode(bytes.NewReader(frame)); err != nil {
			fmt.Printf("%s: rpcx cannot decode: %v\n", f, err)
			bad++
			continue
		}
		enc := m.Encode()
		if !bytes.Equal(enc, frame) {
			fmt.Printf("%s: rpcx re-encodes differently\n  rpcx    %x\n  courier %x\n", f, enc, frame)
			bad++
			continue
		}
		fmt.Printf("%-28s identical (%d bytes)\n", filepath.Base(f), len(frame))
	}
	fmt.Printf("%d golden files, %d differ\n", len(files), bad)
	if bad > 0 {
		os.Exit(1)
	}
}
