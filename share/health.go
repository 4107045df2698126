package share

// HealthServiceName is the name the health service (package health) is
// registered under; clients that check servers' health call its Check and
// Watch methods.
const HealthServiceName = "Health"

// HealthStatus is a serving status of the health service, spelled as in
// grpc.health.v1.
type HealthStatus string

// The serving statuses of the health service.
const (
	// HealthServing: the server (or service) takes calls.
	HealthServing HealthStatus = "SERVING"
	// HealthNotServing: the server is starting, shutting down or held out
	// of rotation, or the service was set so.
	HealthNotServing HealthStatus = "NOT_SERVING"
	// HealthServiceUnknown: no service of that name is registered.
	HealthServiceUnknown HealthStatus = "SERVICE_UNKNOWN"
)

// HealthCheckRequest is the argument of the health service's Check and
// Watch: Service is a service name, or "" for the whole server. Last
// (Watch only) is the status the caller last saw; "" returns the current
// status at once. It encodes the same in JSON and MessagePack.
type HealthCheckRequest struct {
	Service string       `json:"service" msgpack:"service"`
	Last    HealthStatus `json:"last,omitempty" msgpack:"last,omitempty"`
}

// HealthCheckResponse is the reply of the health service's Check and Watch.
type HealthCheckResponse struct {
	Status HealthStatus `json:"status" msgpack:"status"`
}
