package codec_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"testing"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// GobCodec is the guide's custom codec: encoding/gob behind the Codec
// interface.
type GobCodec struct{}

// Decode decodes gob data into i.
func (c *GobCodec) Decode(data []byte, i interface{}) error {
	return gob.NewDecoder(bytes.NewBuffer(data)).Decode(i)
}

// Encode encodes i with gob.
func (c *GobCodec) Encode(i interface{}) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(i)
	return buf.Bytes(), err
}

var _ codec.Codec = (*GobCodec)(nil)

// gobType is the serialize type these tests give gob: a free nibble value.
const gobType = protocol.SerializeType(9)

func restoreCodecs(t *testing.T) {
	t.Helper()
	saved := map[protocol.SerializeType]codec.Codec{}
	for k, v := range share.Codecs {
		saved[k] = v
	}
	t.Cleanup(func() {
		for k := range share.Codecs {
			delete(share.Codecs, k)
		}
		for k, v := range saved {
			share.Codecs[k] = v
		}
	})
}

func TestGobCodecRegistered(t *testing.T) {
	restoreCodecs(t)
	before := share.NewCodecTable()
	if before.Get(gobType) != nil {
		t.Fatal("serialize type 9 already has a codec")
	}

	share.RegisterCodec(gobType, &GobCodec{})
	table := share.NewCodecTable()
	c := table.Get(gobType)
	if _, ok := c.(*GobCodec); !ok {
		t.Fatalf("table has %T for type 9", c)
	}
	// A table is a copy taken at construction: later registrations do not
	// change it, and older tables do not see new codecs.
	if before.Get(gobType) != nil {
		t.Fatal("old table sees the new codec")
	}
	b, err := c.Encode(&Args{A: 1, B: 2, S: "gob"})
	if err != nil {
		t.Fatal(err)
	}
	var out Args
	if err := c.Decode(b, &out); err != nil || out != (Args{1, 2, "gob"}) {
		t.Fatalf("gob round trip: %v %+v", err, out)
	}

	// rpcx style: assign the map directly, before creating tables.
	share.Codecs[protocol.Thrift] = &GobCodec{}
	if _, ok := share.NewCodecTable().Get(protocol.Thrift).(*GobCodec); !ok {
		t.Fatal("direct assignment to share.Codecs not picked up")
	}
	if _, ok := table.Get(protocol.Thrift).(*GobCodec); ok {
		t.Fatal("existing table changed")
	}
}

func ExampleCodec_gob() {
	// As in the guide: register gob before creating servers and clients,
	// and select it with Option.SerializeType / the request's serialize type.
	share.RegisterCodec(protocol.SerializeType(10), &GobCodec{})
	c := share.NewCodecTable().Get(protocol.SerializeType(10))

	data, _ := c.Encode(&Args{A: 10, B: 20})
	var args Args
	_ = c.Decode(data, &args)
	fmt.Println(args.A * args.B)
	// Output: 200
}
