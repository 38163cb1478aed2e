// Package embedded runs a single-node etcd server inside the process, on
// loopback ports chosen at run time, for the etcd module's tests and the
// cluster example. It can be stopped and started again on the same ports
// and data, as a fault to inject.
package embedded

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is one embedded etcd node.
type Server struct {
	dir    string
	client url.URL // port 0 until the first start picked one
	peer   url.URL
	etcd   *embed.Etcd
}

// Start starts a server keeping its data in dir, listening on 127.0.0.1
// only.
func Start(dir string) (*Server, error) {
	s := &Server{dir: dir,
		client: url.URL{Scheme: "http", Host: "127.0.0.1:0"},
		peer:   url.URL{Scheme: "http", Host: "127.0.0.1:0"}}
	return s, s.start()
}

func (s *Server) start() error {
	cfg := embed.NewConfig()
	cfg.Name = "arbor"
	cfg.Dir = s.dir
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{s.client}
	cfg.AdvertiseClientUrls = []url.URL{s.client}
	cfg.ListenPeerUrls = []url.URL{s.peer}
	cfg.AdvertisePeerUrls = []url.URL{s.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = true // a throw-away node: its data dies with the test or example
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return errors.New("embedded etcd: not ready after 30s")
	}
	s.etcd = e
	s.client.Host = e.Clients[0].Addr().String()
	s.peer.Host = e.Peers[0].Listener.Addr().String()
	return nil
}

// Endpoints returns the client endpoints, for clientv3.Config.
func (s *Server) Endpoints() []string { return []string{s.client.Host} }

// Stop stops the server; its data stays for Restart.
func (s *Server) Stop() {
	if s.etcd != nil {
		s.etcd.Close()
		s.etcd = nil
	}
}

// Restart starts a stopped server again on the same ports and data.
func (s *Server) Restart() error {
	if s.etcd != nil {
		return errors.New("embedded etcd: already running")
	}
	return s.start()
}
