// Package registryconn holds, in one subpackage per registry, how courier
// connects to etcd (etcdconn), ZooKeeper (zkconn) and Consul (consulconn):
// TLS, credentials, timeouts, reconnection and logging, set the same way
// for the register plugins (serverplugin), the discoveries (client, under
// build tags) and the registry admin (internal/registryadmin). One package
// per registry, so that a program built with one registry's tag links only
// that registry's client library.
package registryconn
