// Package apicheck pins courier's rpcx-compatible API: every identifier the
// rpcx v1.9.1 examples use (../shared/API.md §2, §3) is assigned here to a
// variable of its exact rpcx type, so a changed name or signature fails
// to compile. It is the source-compatibility promise in test form.
package apicheck

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/courier-rpc/courier/client"
	"github.com/courier-rpc/courier/codec"
	cerrors "github.com/courier-rpc/courier/errors"
	"github.com/courier-rpc/courier/log"
	"github.com/courier-rpc/courier/protocol"
	"github.com/courier-rpc/courier/reflection"
	"github.com/courier-rpc/courier/server"
	"github.com/courier-rpc/courier/serverplugin"
	"github.com/courier-rpc/courier/share"
	"github.com/courier-rpc/courier/util"
	metrics "github.com/rcrowley/go-metrics"
)

// Constants with their rpcx values.
var constants = []struct {
	name      string
	got, want int
}{
	{"Failover", int(client.Failover), 0}, {"Failfast", int(client.Failfast), 1},
	{"Failtry", int(client.Failtry), 2}, {"Failbackup", int(client.Failbackup), 3},
	{"RandomSelect", int(client.RandomSelect), 0}, {"RoundRobin", int(client.RoundRobin), 1},
	{"WeightedRoundRobin", int(client.WeightedRoundRobin), 2}, {"WeightedICMP", int(client.WeightedICMP), 3},
	{"ConsistentHash", int(client.ConsistentHash), 4}, {"Closest", int(client.Closest), 5},
	{"SelectByUser", client.SelectByUser, 1000},
	{"SerializeNone", int(protocol.SerializeNone), 0}, {"JSON", int(protocol.JSON), 1},
	{"ProtoBuffer", int(protocol.ProtoBuffer), 2}, {"MsgPack", int(protocol.MsgPack), 3},
	{"Thrift", int(protocol.Thrift), 4}, {"None", int(protocol.None), 0}, {"Gzip", int(protocol.Gzip), 1},
	{"Request", int(protocol.Request), 0}, {"Response", int(protocol.Response), 1},
	{"Normal", int(protocol.Normal), 0}, {"Error", int(protocol.Error), 1},
	{"CodeMethodNotFound", server.CodeMethodNotFound, -32601}, {"CodeParseJSONRPCError", server.CodeParseJSONRPCError, -32700},
}

var strs = map[string][2]string{
	"share.AuthKey":             {share.AuthKey, "__AUTH"},
	"share.DefaultRPCPath":      {share.DefaultRPCPath, "/_rpcx_"},
	"share.SendFileServiceName": {share.SendFileServiceName, "_filetransfer"},
	"share.StreamServiceName":   {share.StreamServiceName, "_streamservice"},
	"share.ReqMetaDataKey":      {string(share.ReqMetaDataKey), "__req_metadata"},
	"share.ResMetaDataKey":      {string(share.ResMetaDataKey), "__res_metadata"},
	"protocol.ServiceError":     {protocol.ServiceError, "__rpcx_error__"},
	"client.XMessageType":       {client.XMessageType, "X-RPCX-MesssageType"},
	"server.XMessageType":       {server.XMessageType, "X-RPCX-MessageType"},
	"client.ErrShutdown":        {client.ErrShutdown.Error(), "connection is shut down"},
	"client.ErrXClientNoServer": {client.ErrXClientNoServer.Error(), "can not found any server"},
	"server.ErrServerClosed":    {server.ErrServerClosed.Error(), "http: Server closed"},
}

// Signatures of functions and methods (rpcx v1.9.1).
var (
	_ func(client.Option) *client.Client                                                                                                = client.NewClient
	_ func(string, client.FailMode, client.SelectMode, client.ServiceDiscovery, client.Option) client.XClient                           = client.NewXClient
	_ func(client.FailMode, client.SelectMode, client.ServiceDiscovery, client.Option) *client.OneClient                                = client.NewOneClient
	_ func(int, string, client.FailMode, client.SelectMode, client.ServiceDiscovery, client.Option) *client.XClientPool                 = client.NewXClientPool
	_ func(string, client.FailMode, client.SelectMode, client.ServiceDiscovery, client.Option, chan<- *protocol.Message) client.XClient = client.NewBidirectionalXClient
	_ func(string, string) (*client.Peer2PeerDiscovery, error)                                                                          = client.NewPeer2PeerDiscovery
	_ func([]*client.KVPair) (*client.MultipleServersDiscovery, error)                                                                  = client.NewMultipleServersDiscovery
	_ func(string, string, int, time.Duration) (*client.DNSDiscovery, error)                                                            = client.NewDNSDiscovery
	_ func(string, time.Duration, time.Duration, string) (*client.MDNSDiscovery, error)                                                 = client.NewMDNSDiscovery
	_ func(int, string, client.ServiceDiscovery) client.ServiceDiscovery                                                                = client.CacheDiscovery
	_ func(uint64, time.Duration) *client.ConsecCircuitBreaker                                                                          = client.NewConsecCircuitBreaker
	_ func() client.PluginContainer                                                                                                     = client.NewPluginContainer
	_ func(string) client.ServiceError                                                                                                  = client.NewServiceError
	_ func(res *protocol.Message, e string) client.ServiceError                                                                         = client.ClientErrorFunc
	_ client.Breaker                                                                                                                    = client.CircuitBreaker
	_ client.Breaker                                                                                                                    = (*client.ConsecCircuitBreaker)(nil)
	_ client.RPCClient                                                                                                                  = (*client.Client)(nil)
	_ func(int, ...interface{}) int                                                                                                     = client.JumpConsistentHash

	_ func(*client.Client, context.Context, string, string, interface{}, interface{}) error    = (*client.Client).Call
	_ func(*client.Client, string, string) error                                               = (*client.Client).Connect
	_ func(*client.Client) error                                                               = (*client.Client).Close
	_ func(*client.Client, chan<- *protocol.Message)                                           = (*client.Client).RegisterServerMessageChan
	_ func(*client.OneClient, context.Context, string, string, interface{}, interface{}) error = (*client.OneClient).Call
	_ func(*client.OneClient, context.Context, string, io.Writer, map[string]string) error     = (*client.OneClient).DownloadFile
	_ func(*client.XClientPool) client.XClient                                                 = (*client.XClientPool).Get

	_ func(...server.OptionFn) *server.Server                                                        = server.NewServer
	_ func(*tls.Config) server.OptionFn                                                              = server.WithTLSConfig
	_ func(time.Duration) server.OptionFn                                                            = server.WithReadTimeout
	_ func(time.Duration) server.OptionFn                                                            = server.WithWriteTimeout
	_ func() *server.CORSOptions                                                                     = server.AllowAllCORSOptions
	_ func(string, server.FileTransferHandler, server.DownloadFileHandler, int) *server.FileTransfer = server.NewFileTransfer
	_ func(string, server.StreamHandler, server.StreamAcceptor, int) *server.StreamService           = server.NewStreamService
	_ func(*server.Server, interface{}, string) error                                                = (*server.Server).Register
	_ func(*server.Server, string, interface{}, string) error                                        = (*server.Server).RegisterName
	_ func(*server.Server, string, interface{}, string) error                                        = (*server.Server).RegisterFunction
	_ func(*server.Server, string, string, func(*server.Context) error)                              = (*server.Server).AddHandler
	_ func(*server.Server) net.Addr                                                                  = (*server.Server).Address
	_ func(*server.Server, string, string) error                                                     = (*server.Server).Serve
	_ func(*server.Server, context.Context) error                                                    = (*server.Server).Shutdown
	_ func(*server.Server) error                                                                     = (*server.Server).Close
	_ func(*server.Server) error                                                                     = (*server.Server).UnregisterAll
	_ func(*server.Server, net.Conn, string, string, map[string]string, []byte) error                = (*server.Server).SendMessage
	_ func(*server.Server, string, *server.FileTransfer)                                             = (*server.Server).EnableFileTransfer
	_ func(*server.Server, string, *server.StreamService)                                            = (*server.Server).EnableStreamService
	_ func(*server.Server, *server.CORSOptions)                                                      = (*server.Server).SetCORS
	_ func(*server.Context, interface{}) error                                                       = (*server.Context).Bind
	_ func(*server.Context, interface{}) error                                                       = (*server.Context).Write

	_ func() *protocol.Message                   = protocol.NewMessage
	_ func(io.Reader) (*protocol.Message, error) = protocol.Read
	_ func() byte                                = protocol.MagicNumber

	_ func(metrics.Registry) *serverplugin.MetricsPlugin                                          = serverplugin.NewMetricsPlugin
	_ func() *serverplugin.AliasPlugin                                                            = serverplugin.NewAliasPlugin
	_ func(time.Duration, int64, bool) *serverplugin.ReqRateLimitingPlugin                        = serverplugin.NewReqRateLimitingPlugin
	_ func(time.Duration, int64) *serverplugin.RateLimitingPlugin                                 = serverplugin.NewRateLimitingPlugin
	_ func(io.Writer) *serverplugin.TeeConnPlugin                                                 = serverplugin.NewTeeConnPlugin
	_ func(string, int, metrics.Registry, time.Duration, string) *serverplugin.MDNSRegisterPlugin = serverplugin.NewMDNSRegisterPlugin
	_ func(*serverplugin.AliasPlugin, string, string, string, string)                             = (*serverplugin.AliasPlugin).Alias

	_ func() *reflection.Reflection             = reflection.New
	_ func(protocol.SerializeType, codec.Codec) = share.RegisterCodec
	_ map[protocol.SerializeType]codec.Codec    = share.Codecs
	_ func(log.Logger)                          = log.SetLogger
	_ func([]error) *cerrors.MultiError         = cerrors.NewMultiError
	_ func(string) (string, string, int, error) = util.ParseRpcxAddress
	_ func(map[string]string) string            = util.ConvertMap2String
	_ codec.Codec                               = codec.MsgpackCodec{}
	_ server.PostConnAcceptPlugin               = (*serverplugin.BlacklistPlugin)(nil)
	_ interface{ Start() error }                = (*serverplugin.MDNSRegisterPlugin)(nil)
	_                                           = server.RemoteConnContextKey
)

// The XClient interface keeps rpcx's method set.
var _ interface {
	SetPlugins(plugins client.PluginContainer)
	GetPlugins() client.PluginContainer
	SetSelector(s client.Selector)
	ConfigGeoSelector(latitude, longitude float64)
	Auth(auth string)
	Go(ctx context.Context, serviceMethod string, args interface{}, reply interface{}, done chan *client.Call) (*client.Call, error)
	Call(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error
	Oneshot(ctx context.Context, serviceMethod string, args interface{}) error
	Broadcast(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error
	Fork(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) error
	Inform(ctx context.Context, serviceMethod string, args interface{}, reply interface{}) ([]client.Receipt, error)
	SendRaw(ctx context.Context, r *protocol.Message) (map[string]string, []byte, error)
	SendFile(ctx context.Context, fileName string, rateInBytesPerSecond int64, meta map[string]string) error
	DownloadFile(ctx context.Context, requestFileName string, saveTo io.Writer, meta map[string]string) error
	Stream(ctx context.Context, meta map[string]string) (net.Conn, error)
	Close() error
} = client.XClient(nil)

// Option keeps rpcx's fields and DefaultOption its values.
var _ = client.Option{
	Group: "", Retries: 0, RetryInterval: 0, TimeToDisallow: 0, TLSConfig: nil, Block: nil, RPCPath: "",
	ConnectTimeout: 0, IdleTimeout: 0, BackupLatency: 0, GenBreaker: nil, SerializeType: 0, CompressType: 0,
	Heartbeat: false, HeartbeatInterval: 0, MaxWaitForHeartbeat: 0, TCPKeepAlivePeriod: 0,
	BidirectionalBlock: false, Sticky: false, NilCallServerMessageHandler: nil,
}

func TestConstantsAndDefaults(t *testing.T) {
	for _, c := range constants {
		if c.got != c.want {
			t.Errorf("%s = %d, rpcx has %d", c.name, c.got, c.want)
		}
	}
	for name, v := range strs {
		if v[0] != v[1] {
			t.Errorf("%s = %q, rpcx has %q", name, v[0], v[1])
		}
	}
	d := client.DefaultOption
	if d.Retries != 3 || d.RPCPath != "/_rpcx_" || d.ConnectTimeout != time.Second || d.SerializeType != protocol.MsgPack ||
		d.BackupLatency != 10*time.Millisecond || d.MaxWaitForHeartbeat != 30*time.Second || d.TCPKeepAlivePeriod != time.Minute ||
		d.TimeToDisallow != time.Minute || d.CompressType != protocol.None {
		t.Errorf("DefaultOption differs from rpcx's: %+v", d)
	}
}
