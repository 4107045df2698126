// Package registryadmin reads, watches and edits the registry entries that
// courier and rpcx servers publish in etcd, ZooKeeper and Consul, directly
// through those engines' client libraries.
//
// The layout is rpcx's: under a base path, one directory per service
// ("base/Service", value the service name) and one entry per server
// ("base/Service/network@address") whose value is the server's metadata as
// a URL query string, such as "state=inactive&weight=3&group=blue". The
// package writes only the metadata of existing server entries, keeping
// their lease (etcd), ephemeral node (ZooKeeper) or session lock (Consul),
// so an XClient of either framework reacts as it does to a change made by
// the server itself.
//
// A registry is named by a URL (see ParseURL): etcd://h:p[,h:p]/base,
// zookeeper://h:p/base, consul://h:p/base. The command line (list and
// describe with -registry) and the dashboard use it. It is not a core
// package, so it imports the three client libraries without build tags.
package registryadmin
