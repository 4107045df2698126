package scale

// compiled lists the registries this test binary has support for (one file
// per build tag adds its name).
var compiled []string
