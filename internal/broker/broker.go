// Package broker runs the embedded Kafka-protocol broker (franz-go's kfake) that a plain `run`
// uses: one process, a real TCP listener that kcat and Kafka's own tools can talk to, and topics,
// offsets and groups persisted under the data dir so they survive a restart and a kill -9.
package broker

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure the embedded broker.
type Options struct {
	// Addr is the host:port to listen on; port 0 picks a free one.
	Addr string
	// Dir holds the broker's segments and metadata.
	Dir string
	// SyncWrites fsyncs every produced batch before acknowledging it. Without it an acknowledged
	// record reaches the OS page cache only: a kill -9 loses nothing, an OS crash or power cut can
	// lose the last seconds of writes. With it, that window is closed at about four times the
	// per-record latency.
	SyncWrites bool
	// CleanerInterval is how often compaction and retention run. kfake's default of one hour
	// lets table topics grow between runs; a minute keeps them near their live size.
	CleanerInterval time.Duration
}

// Broker is a running embedded broker.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// Start starts the broker and returns once it accepts connections.
func Start(o Options) (*Broker, error) {
	host, portStr, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: %w", o.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: bad port", o.Addr)
	}
	if o.CleanerInterval <= 0 {
		o.CleanerInterval = time.Minute
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		// kfake binds 127.0.0.1; listen on the host asked for instead, so the advertised address
		// is the one clients were given.
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(addr)
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.DataDir(o.Dir),
		kfake.ClusterID("smartautocheck"),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(o.CleanerInterval.Milliseconds(), 10),
		}),
	}
	if o.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded broker on %s: %w", o.Addr, err)
	}
	return &Broker{c: c, addr: c.ListenAddrs()[0]}, nil
}

// Addr is the address clients bootstrap from.
func (b *Broker) Addr() string { return b.addr }

// Compact runs compaction and retention now (tests use it to check tables stay bounded).
func (b *Broker) Compact() { b.c.Compact() }

// Close stops the broker, flushing its files.
func (b *Broker) Close() { b.c.Close() }
