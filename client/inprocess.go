package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"

	"github.com/courier-rpc/courier/codec"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/share"
)

// In-process calls. There are two ways to call a server in the same
// process without a socket:
//
//  1. The "memu" network: serve with server.Serve("memu", "name") and
//     discover "memu@name" (e.g. NewPeer2PeerDiscovery("memu@name", "")).
//     Calls go through the full protocol over in-memory pipes
//     (util/memconn): codecs, metadata, deadlines and plugins all apply.
//  2. The "inprocess" registry of the rpcx guide: add InprocessClient to a
//     server's plugins before registering services, and discover with
//     NewInprocessDiscovery(). Calls then invoke the registered methods
//     directly, without encoding; the server need not serve at all.

// ErrInprocess is wrapped by errors of in-process calls that never reached
// a method (unknown service or method, unusable arguments).
var ErrInprocess = errors.New("client: inprocess")

// InprocessNetwork is the network of NewInprocessDiscovery's key.
const InprocessNetwork = "inprocess"

// InprocessClient records the services a server registers (it implements
// the server's Register, RegisterFunction and Unregister plugin hooks) and
// is the RPCClient of the "inprocess" network, calling them directly. Add
// it with s.Plugins.Add(client.InprocessClient). It is safe for concurrent
// use.
var InprocessClient = &inprocessClient{services: map[string]map[string]reflect.Value{}}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	errorType = reflect.TypeFor[error]()
)

type inprocessClient struct {
	mu       sync.RWMutex
	services map[string]map[string]reflect.Value // service -> method -> func(ctx, args, reply) error
}

// NewInprocessDiscovery returns a discovery of the in-process registry
// (key "inprocess@local"): calls go to the services recorded by
// InprocessClient.
func NewInprocessDiscovery() ServiceDiscovery {
	d, _ := NewPeer2PeerDiscovery(InprocessNetwork+"@local", "")
	return d
}

func init() { RegisterCacheClientBuilder(InprocessNetwork, inprocessBuilder{}) }

// inprocessBuilder hands out InprocessClient for every inprocess key.
type inprocessBuilder struct{}

func (inprocessBuilder) SetCachedClient(RPCClient, string, string, string)    {}
func (inprocessBuilder) FindCachedClient(string, string, string) RPCClient    { return InprocessClient }
func (inprocessBuilder) DeleteCachedClient(RPCClient, string, string, string) {}
func (inprocessBuilder) GenerateClient(string, string, string) (RPCClient, error) {
	return InprocessClient, nil
}

// handlerOK reports whether t is func(context.Context, A, *R) error
// (after the receiver, for methods: skip = 1).
func handlerOK(t reflect.Type, skip int) bool {
	return t.NumIn() == skip+3 && t.NumOut() == 1 && t.In(skip) == ctxType &&
		t.In(skip+2).Kind() == reflect.Pointer && t.Out(0) == errorType
}

// Register records the exported methods of rcvr shaped
// func(ctx, args, *reply) error as service name.
func (c *inprocessClient) Register(name string, rcvr interface{}, metadata string) error {
	v := reflect.ValueOf(rcvr)
	if !v.IsValid() {
		return fmt.Errorf("%w: register %q: nil receiver", ErrInprocess, name)
	}
	if name == "" {
		name = reflect.Indirect(v).Type().Name()
	}
	methods := map[string]reflect.Value{}
	t := v.Type()
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		if m.IsExported() && handlerOK(m.Type, 1) {
			methods[m.Name] = v.Method(i)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.services[name]; old != nil {
		for k, f := range old {
			if _, ok := methods[k]; !ok {
				methods[k] = f
			}
		}
	}
	c.services[name] = methods
	return nil
}

// RegisterFunction records fn, shaped func(ctx, args, *reply) error, as
// method fname of serviceName.
func (c *inprocessClient) RegisterFunction(serviceName, fname string, fn interface{}, metadata string) error {
	v := reflect.ValueOf(fn)
	if !v.IsValid() || v.Kind() != reflect.Func || !handlerOK(v.Type(), 0) {
		return fmt.Errorf("%w: register function %s.%s: not func(context.Context, args, *reply) error", ErrInprocess, serviceName, fname)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.services[serviceName] == nil {
		c.services[serviceName] = map[string]reflect.Value{}
	}
	c.services[serviceName][fname] = v
	return nil
}

// Unregister forgets service name.
func (c *inprocessClient) Unregister(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.services, name)
	return nil
}

// Call invokes the recorded method. args and reply are passed as they are
// when their types match the method's; otherwise they are converted
// through the msgpack codec. A handler error is returned as a
// ServiceError (keeping its share.Code); a panic becomes one too.
func (c *inprocessClient) Call(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}) (err error) {
	c.mu.RLock()
	fn, ok := c.services[servicePath][serviceMethod]
	c.mu.RUnlock()
	if !ok {
		return strErr(fmt.Sprintf("client: inprocess: can not find %s.%s", servicePath, serviceMethod))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t := fn.Type()
	argv, err := convertValue(args, t.In(1))
	if err != nil {
		return fmt.Errorf("%w: %s.%s args: %w", ErrInprocess, servicePath, serviceMethod, err)
	}
	replyv := reflect.ValueOf(reply)
	direct := reply != nil && replyv.Type() == t.In(2)
	if !direct {
		replyv = reflect.New(t.In(2).Elem())
	}
	defer func() {
		if p := recover(); p != nil {
			err = strErr(fmt.Sprintf("client: inprocess: %s.%s panicked: %v", servicePath, serviceMethod, p))
		}
	}()
	out := fn.Call([]reflect.Value{reflect.ValueOf(ctx), argv, replyv})
	if e, _ := out[0].Interface().(error); e != nil {
		if code := share.CodeOf(e); code != share.CodeUnknown {
			return &codedError{msg: e.Error(), code: code}
		}
		return strErr(e.Error())
	}
	if !direct && reply != nil {
		if err := recode(replyv.Interface(), reply); err != nil {
			return fmt.Errorf("%w: %s.%s reply: %w", ErrInprocess, servicePath, serviceMethod, err)
		}
	}
	return nil
}

// convertValue returns v as a value of type t, passing it as is when
// possible and converting through msgpack otherwise.
func convertValue(v interface{}, t reflect.Type) (reflect.Value, error) {
	if v != nil && reflect.TypeOf(v).AssignableTo(t) {
		return reflect.ValueOf(v), nil
	}
	if t.Kind() == reflect.Pointer {
		nv := reflect.New(t.Elem())
		if v != nil {
			if err := recode(v, nv.Interface()); err != nil {
				return reflect.Value{}, err
			}
		}
		return nv, nil
	}
	nv := reflect.New(t)
	if v != nil {
		if err := recode(v, nv.Interface()); err != nil {
			return reflect.Value{}, err
		}
	}
	return nv.Elem(), nil
}

func recode(src, dst interface{}) error {
	var mc codec.MsgpackCodec
	data, err := mc.Encode(src)
	if err != nil {
		return err
	}
	return mc.Decode(data, dst)
}

// Go runs Call in a goroutine and sends the call on done (buffer 1 when
// nil; a full done drops the result).
func (c *inprocessClient) Go(ctx context.Context, servicePath, serviceMethod string, args interface{}, reply interface{}, done chan *Call) *Call {
	if done == nil || cap(done) == 0 {
		done = make(chan *Call, 1)
	}
	call := &Call{ServicePath: servicePath, ServiceMethod: serviceMethod, Args: args, Reply: reply, Done: done}
	go func() {
		call.Error = c.Call(ctx, servicePath, serviceMethod, args, reply)
		select {
		case call.Done <- call:
		default:
		}
	}()
	return call
}

// SendRaw is not supported in process: raw messages need a codec-free
// server. It returns an error wrapping ErrInprocess.
func (c *inprocessClient) SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error) {
	return nil, nil, fmt.Errorf("%w: SendRaw is not supported in process (use the memu network)", ErrInprocess)
}

// Connect does nothing: there is nothing to connect.
func (c *inprocessClient) Connect(network, address string) error { return nil }

// Close does nothing: the registry lives as long as the process.
func (c *inprocessClient) Close() error { return nil }

// RemoteAddr returns "inprocess@local".
func (c *inprocessClient) RemoteAddr() string { return InprocessNetwork + "@local" }

// RegisterServerMessageChan does nothing: in-process servers cannot push.
func (c *inprocessClient) RegisterServerMessageChan(ch chan<- *protocol.Message) {}

// UnregisterServerMessageChan does nothing.
func (c *inprocessClient) UnregisterServerMessageChan() {}

// IsClosing returns false.
func (c *inprocessClient) IsClosing() bool { return false }

// IsShutdown returns false.
func (c *inprocessClient) IsShutdown() bool { return false }

// GetConn returns nil: there is no connection.
func (c *inprocessClient) GetConn() net.Conn { return nil }
