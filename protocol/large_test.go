package protocol

import (
	"bufio"
	"bytes"
	"runtime"
	"testing"
)

func TestAppendHeadPlusPayloadIsAppendTo(t *testing.T) {
	for _, ct := range []CompressType{None, Gzip} {
		for _, size := range []int{0, 10, LargePayload, 1 << 20} {
			m := NewMessage()
			m.SetMessageType(Request)
			m.SetCompressType(ct)
			m.SetSeq(7)
			m.ServicePath, m.ServiceMethod = "Arith", "Mul"
			m.Metadata = map[string]string{"k": "v"}
			m.Payload = bytes.Repeat([]byte{'x'}, size)
			whole, err := m.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			head, payload, err := m.AppendHead(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := append(head, payload...); !bytes.Equal(got, whole) {
				t.Fatalf("compress %v, %d bytes: head+payload differs from AppendTo", ct, size)
			}
			if ct == None && size > 0 && &payload[0] != &m.Payload[0] {
				t.Fatalf("%d bytes: AppendHead copied an uncompressed payload", size)
			}
			if size >= LargePayload && cap(head) >= size {
				t.Fatalf("%d bytes: head buffer has room for the payload (cap %d)", size, cap(head))
			}
		}
	}
}

// Large frames decode into pooled buffers: decoding one after another
// through FreeMsg reuses the buffer instead of allocating a new one.
func TestLargeReadBuffersPooled(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	m := NewMessage()
	m.SetMessageType(Request)
	m.ServicePath, m.ServiceMethod = "S", "M"
	m.Payload = bytes.Repeat([]byte{'y'}, 1<<20)
	frame, err := m.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	lim := Limits{}.Resolve()
	decode := func() {
		msg := GetPooledMsg()
		if err := msg.DecodeLimited(bufio.NewReaderSize(bytes.NewReader(frame), 64<<10), &lim); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg.Payload, m.Payload) {
			t.Fatal("payload differs")
		}
		FreeMsg(msg)
	}
	decode()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		decode()
	}
	runtime.ReadMemStats(&after)
	// Without the pool every decode allocates the 1 MiB body; a GC may
	// empty the pool now and then, so allow a few.
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 256<<10 {
		t.Fatalf("%d bytes allocated per 1 MiB decode", per)
	}
	if b := getBig(1<<20 + 100); cap(b)%bigStep != 0 || len(b) != 1<<20+100 {
		t.Fatalf("getBig: len %d cap %d", len(b), cap(b))
	}
	putBig(make([]byte, 10, 100<<10+1)) // not a pooled size: dropped without panic
}
