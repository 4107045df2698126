package client

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/courier-rpc/courier/util"
)

// geoServer is a server with its position (ok is false when its metadata
// has no valid latitude/longitude).
type geoServer struct {
	key      string
	lat, lon float64
	ok       bool
}

// geoSelector picks the server nearest to the client's position (great
// circle distance from the "latitude" and "longitude" metadata); servers at
// the same distance are chosen at random. Servers without a position are
// used only when no server has one.
type geoSelector struct {
	mu       sync.RWMutex
	lat, lon float64
	servers  []geoServer
	nearest  []string
}

func newGeoSelector(lat, lon float64) *geoSelector { return &geoSelector{lat: lat, lon: lon} }

// setPosition moves the client to (lat, lon).
func (s *geoSelector) setPosition(lat, lon float64) {
	s.mu.Lock()
	s.lat, s.lon = lat, lon
	s.rank()
	s.mu.Unlock()
}

func (s *geoSelector) Select(ctx context.Context, servicePath, serviceMethod string, args interface{}) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch len(s.nearest) {
	case 0:
		return ""
	case 1:
		return s.nearest[0]
	}
	return s.nearest[rand.IntN(len(s.nearest))]
}

func (s *geoSelector) UpdateServer(servers map[string]string) {
	list := make([]geoServer, 0, len(servers))
	for _, k := range sortedKeys(servers) {
		m := util.ConvertMeta2Map(servers[k])
		lat, err1 := strconv.ParseFloat(m["latitude"], 64)
		lon, err2 := strconv.ParseFloat(m["longitude"], 64)
		ok := err1 == nil && err2 == nil && math.Abs(lat) <= 90 && math.Abs(lon) <= 180
		list = append(list, geoServer{key: k, lat: lat, lon: lon, ok: ok})
	}
	s.mu.Lock()
	s.servers = list
	s.rank()
	s.mu.Unlock()
}

// rank recomputes the set of nearest servers; the caller holds s.mu.
func (s *geoSelector) rank() {
	s.nearest = s.nearest[:0:0]
	best := math.Inf(1)
	for _, g := range s.servers {
		if !g.ok {
			continue
		}
		d := geoDistance(s.lat, s.lon, g.lat, g.lon)
		switch {
		case d < best-1e-9:
			best = d
			s.nearest = append(s.nearest[:0], g.key)
		case math.Abs(d-best) <= 1e-9:
			s.nearest = append(s.nearest, g.key)
		}
	}
	if len(s.nearest) == 0 {
		for _, g := range s.servers {
			s.nearest = append(s.nearest, g.key)
		}
	}
}

// geoDistance is the haversine distance in kilometres.
func geoDistance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(math.Min(1, a)))
}
