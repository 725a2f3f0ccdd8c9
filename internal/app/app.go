// Package app wires one SmartAutoCheck instance: the embedded broker (unless brokers are given),
// the topics, the processors and consumers this instance runs, the views and the HTTP API. The
// binary and the pipeline tests start it the same way.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/broker"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/consumer"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/gateway"
	"github.com/smartautocheck/smartautocheck/internal/kafkaconfig"
	"github.com/smartautocheck/smartautocheck/internal/mail"
	"github.com/smartautocheck/smartautocheck/internal/signed"
	"github.com/smartautocheck/smartautocheck/internal/templates"
	"github.com/smartautocheck/smartautocheck/internal/topics"
	"github.com/smartautocheck/smartautocheck/processors/appointments"
	centersproc "github.com/smartautocheck/smartautocheck/processors/centers"
	"github.com/smartautocheck/smartautocheck/processors/emails"
	"github.com/smartautocheck/smartautocheck/processors/notifications"
	"github.com/smartautocheck/smartautocheck/processors/numbering"
	"github.com/smartautocheck/smartautocheck/processors/payments"
	"github.com/smartautocheck/smartautocheck/processors/slots"
	"github.com/smartautocheck/smartautocheck/processors/timers"
	"github.com/smartautocheck/smartautocheck/processors/users"
	"github.com/smartautocheck/smartautocheck/tables"
	"github.com/smartautocheck/smartautocheck/views"
)

// Processor names for --processors.
const (
	ProcUsers         = "users"
	ProcEmails        = "emails"
	ProcNotifications = "notifications"
	ProcFeed          = "notifications-consumer"
	ProcSender        = "notifications-sender"
	ProcAppointments  = topics.GroupAppointments
	ProcPayments      = topics.GroupPayments
	ProcSlots         = topics.GroupSlots
	ProcCenters       = topics.GroupCenters
	ProcNumbering     = topics.GroupNumbering
	ProcTimers        = topics.GroupTimers
	ProcGateway       = payments.GatewayGroup
)

// AllProcessors is what a plain run starts.
var AllProcessors = []string{ProcUsers, ProcEmails, ProcNotifications, ProcFeed, ProcSender, ProcAppointments,
	ProcPayments, ProcSlots, ProcCenters, ProcNumbering, ProcTimers, ProcGateway}

// Config is one instance's configuration; the command line fills it from flags and environment.
type Config struct {
	DataDir  string
	HTTPAddr string
	// PublicURL is where links in emails point; default http://<HTTPAddr>.
	PublicURL string
	// Brokers of an external cluster; empty starts the embedded broker on KafkaAddr.
	Brokers    []string
	KafkaAddr  string
	SyncWrites bool
	Secret     string
	AdminEmail string
	// AdminPassword is never logged.
	AdminPassword string
	Processors    []string
	SMTPURL       string
	// Wait bounds a command endpoint's wait for its outcome (default 5 s).
	Wait time.Duration
	// SendBackoff is the first retry wait of a failed send (default 1 s).
	SendBackoff time.Duration
	// Provider overrides the mail provider (tests inject failing ones); nil uses the outbox or SMTP.
	Provider mail.Provider
	// PaymentHold is the payment window of a booking (default 15 min).
	PaymentHold time.Duration
	// Centers are the inspection centers (default the built-in one).
	Centers []centers.Center
	// Gateway takes payments (default the sandbox).
	Gateway gateway.Gateway
	// TimerTick is how often due timers are looked for (default 200 ms).
	TimerTick  time.Duration
	BcryptCost int
	Log        *slog.Logger
	Now        func() time.Time
}

// App is a running instance.
type App struct {
	cfg      Config
	Broker   *broker.Broker
	Brokers  []string
	HTTPAddr string

	group    *errgroup.Group
	cancel   context.CancelFunc
	http     *http.Server
	notReady func() []string
	secret   []byte
}

// Secret is the instance's signing secret (benchmarks sign verification links with it).
func (a *App) Secret() []byte { return a.secret }

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Wait <= 0 {
		c.Wait = 5 * time.Second
	}
	if c.SendBackoff <= 0 {
		c.SendBackoff = time.Second
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(c.Processors) == 0 {
		c.Processors = AllProcessors
	}
	if c.PaymentHold <= 0 {
		c.PaymentHold = 15 * time.Minute
	}
	if len(c.Centers) == 0 {
		c.Centers = []centers.Center{centers.Default()}
	}
	if c.Gateway == nil {
		c.Gateway = gateway.NewSandbox()
	}
	if c.TimerTick <= 0 {
		c.TimerTick = 200 * time.Millisecond
	}
}

// Start brings the instance up and returns once its HTTP listener is open; readiness follows
// when every processor and view has recovered (see /readyz).
func Start(ctx context.Context, cfg Config) (*App, error) {
	cfg.defaults()
	for _, p := range cfg.Processors {
		if !contains(AllProcessors, p) {
			return nil, fmt.Errorf("unknown processor %q (known: %s)", p, strings.Join(AllProcessors, ", "))
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	secret, err := loadSecret(cfg.DataDir, cfg.Secret)
	if err != nil {
		return nil, err
	}
	catalog, err := centers.NewCatalog(cfg.Centers)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, Brokers: cfg.Brokers, secret: secret}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if len(a.Brokers) == 0 {
		b, err := broker.Start(broker.Options{Addr: cfg.KafkaAddr, Dir: filepath.Join(cfg.DataDir, "kafka"), SyncWrites: cfg.SyncWrites})
		if err != nil {
			return nil, err
		}
		a.Broker, a.Brokers = b, []string{b.Addr()}
		cfg.Log.Info("embedded broker listening", "addr", b.Addr(), "dir", filepath.Join(cfg.DataDir, "kafka"))
	}
	replication, err := EnsureTopics(ctx, a.Brokers)
	if err != nil {
		return nil, err
	}
	cluster := kafkaconfig.Cluster{Brokers: a.Brokers, StateDir: filepath.Join(cfg.DataDir, "state"),
		ClientID: "smartautocheck", Replication: int(replication)}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	a.HTTPAddr = ln.Addr().String()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + a.HTTPAddr
	}

	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	a.group = g
	// readiness names each part that must have recovered before the instance serves.
	readiness := map[string]func() bool{}

	usersView, err := views.NewTable[tables.User](cluster, users.Table)
	if err != nil {
		return nil, err
	}
	emailsView, err := views.NewTable[tables.EmailClaim](cluster, emails.Table)
	if err != nil {
		return nil, err
	}
	notifView, err := views.NewTable[tables.Notification](cluster, notifications.Table)
	if err != nil {
		return nil, err
	}
	apptView, err := views.NewTable[tables.Appointment](cluster, appointments.Table)
	if err != nil {
		return nil, err
	}
	slotsView, err := views.NewTable[tables.CenterDay](cluster, slots.Table)
	if err != nil {
		return nil, err
	}
	payView, err := views.NewTable[tables.Payments](cluster, payments.Table)
	if err != nil {
		return nil, err
	}
	timersView, err := views.NewTable[tables.Timer](cluster, timers.Table)
	if err != nil {
		return nil, err
	}
	for _, v := range []*goka.View{usersView.View, emailsView.View, notifView.View, apptView.View, slotsView.View, payView.View, timersView.View} {
		g.Go(func() error { return v.Run(gctx) })
		readiness["view "+v.Topic()] = v.Recovered
	}

	policy := deadletter.Policy{Now: cfg.Now}
	graphs := map[string]*goka.GroupGraph{
		ProcUsers:  users.Graph(users.Options{Now: cfg.Now, Policy: policy}),
		ProcEmails: emails.Graph(emails.Options{Now: cfg.Now, Policy: policy}),
		ProcNotifications: notifications.Graph(notifications.Options{Now: cfg.Now, Policy: policy, AdminEmail: cfg.AdminEmail,
			RetryBackoff: cfg.SendBackoff}),
		ProcAppointments: appointments.Graph(appointments.Options{Now: cfg.Now, Policy: policy}),
		ProcPayments:     payments.Graph(payments.Options{Now: cfg.Now, Policy: policy, PublicURL: cfg.PublicURL}),
		ProcSlots:        slots.Graph(policy),
		ProcCenters:      centersproc.Graph(policy),
		ProcNumbering:    numbering.Graph(policy),
		ProcTimers:       timers.Graph(policy),
	}
	for _, name := range cfg.Processors {
		gg, isGoka := graphs[name]
		if !isGoka {
			continue
		}
		p, err := goka.NewProcessor(cluster.Brokers, gg, cluster.ProcessorOptions(gg.Group())...)
		if err != nil {
			return nil, fmt.Errorf("processor %s: %w", name, err)
		}
		g.Go(func() error { return p.Run(gctx) })
		readiness["processor "+name] = p.Recovered
	}

	provider := cfg.Provider
	if provider == nil {
		if provider, err = mailProvider(cfg); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	consumed := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sac_consumer_records_total",
		Help: "Records handled (or parked as dead letters) by each franz-go consumer group."}, []string{"group"})
	reg.MustRegister(consumed)

	signer := signed.New(secret)
	records := templates.Records{Users: usersView.Get, Appointments: apptView.Get, Payments: payView.Get, Centers: catalog}
	for _, name := range cfg.Processors {
		var cc consumer.Config
		var cons *consumer.Consumer
		produce := func(ctx context.Context, recs ...*kgo.Record) error {
			return cons.Client().ProduceSync(ctx, recs...).FirstErr()
		}
		switch name {
		case ProcFeed:
			cc = consumer.Config{Group: notifications.FeedGroup, Topics: topics.CatalogNames(), Handler: notifications.Feed(produce, records)}
		case ProcSender:
			s := &notifications.Sender{Env: templates.Env{BaseURL: cfg.PublicURL, From: "SmartAutoCheck <no-reply@smartautocheck.local>",
				Signer: signer, Records: records},
				Provider: provider, Status: notifView.Get, Produce: produce, Now: cfg.Now}
			cc = consumer.Config{Group: notifications.SenderGroup, Topics: []string{topics.NotificationIntents}, Handler: s.Handle}
		case ProcGateway:
			wk := &payments.Worker{Gateway: cfg.Gateway, Produce: produce, Backoff: 500 * time.Millisecond}
			cc = consumer.Config{Group: payments.GatewayGroup, Topics: []string{topics.PaymentIntents}, Handler: wk.Handle}
		default:
			continue
		}
		cc.Policy, cc.OnRecord = policy, consumed.WithLabelValues(cc.Group).Inc
		if cons, err = consumer.New(cluster, cc); err != nil {
			return nil, err
		}
		g.Go(func() error { return cons.Run(gctx) })
		readiness["consumer "+cc.Group] = cons.Ready
	}

	userCmds, err := goka.NewEmitter(cluster.Brokers, users.Commands, new(codecs.JSON[tables.UserCommand]), cluster.EmitterOptions()...)
	if err != nil {
		return nil, err
	}
	claims, err := goka.NewEmitter(cluster.Brokers, emails.Claims, new(codecs.JSON[tables.ClaimEmail]), cluster.EmitterOptions()...)
	if err != nil {
		return nil, err
	}
	apptCmds, err := goka.NewEmitter(cluster.Brokers, appointments.Commands, new(codecs.JSON[tables.AppointmentCommand]), cluster.EmitterOptions()...)
	if err != nil {
		return nil, err
	}
	payCmds, err := goka.NewEmitter(cluster.Brokers, payments.Commands, new(codecs.JSON[tables.PaymentCommand]), cluster.EmitterOptions()...)
	if err != nil {
		return nil, err
	}
	timerCmds, err := goka.NewEmitter(cluster.Brokers, timers.Commands, new(codecs.JSON[tables.TimerCommand]), cluster.EmitterOptions()...)
	if err != nil {
		return nil, err
	}
	if contains(cfg.Processors, ProcTimers) {
		ticker := &timers.Ticker{View: timersView.View, Emitter: timerCmds, Interval: cfg.TimerTick, Now: cfg.Now}
		g.Go(func() error { return ticker.Run(gctx) })
	}
	var adminDone atomic.Bool
	if cfg.AdminEmail == "" {
		adminDone.Store(true)
	}
	waiting := func() []string {
		var out []string
		for name, ok := range readiness {
			if !ok() {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}
	recovered := func() bool { return len(waiting()) == 0 }
	a.notReady = func() []string {
		out := waiting()
		if !adminDone.Load() {
			out = append(out, "admin account")
		}
		return out
	}

	srv := &views.Server{Users: usersView, Emails: emailsView, UserCommands: userCmds, EmailClaims: claims,
		Appointments: apptView, Slots: slotsView, Payments: payView, ApptCommands: apptCmds, PayCommands: payCmds,
		Centers: catalog, Hold: cfg.PaymentHold, Now: cfg.Now,
		Signer: signer, Auth: views.NewAuth(secret, 24*time.Hour, cfg.Now), Wait: cfg.Wait, BcryptCost: cfg.BcryptCost,
		NotReady: a.NotReady, Registry: reg, Log: cfg.Log}
	// Requests wait at most cfg.Wait for their outcome; the write timeout leaves room for that.
	a.http = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: cfg.Wait + 30*time.Second, IdleTimeout: 2 * time.Minute}
	g.Go(func() error {
		if err := a.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = a.http.Shutdown(shutdown)
		return errors.Join(userCmds.Finish(), claims.Finish(), apptCmds.Finish(), payCmds.Finish(), timerCmds.Finish())
	})
	if cfg.AdminEmail != "" {
		g.Go(func() error {
			err := bootstrapAdmin(gctx, srv, recovered, cfg.AdminEmail, cfg.AdminPassword)
			if err == nil {
				adminDone.Store(true)
				cfg.Log.Info("admin account ready", "email", cfg.AdminEmail)
			}
			return err
		})
	}
	ok = true
	return a, nil
}

// Ready tells whether every processor, consumer and view of the instance has recovered.
func (a *App) Ready() bool { return a.notReady != nil && len(a.notReady()) == 0 }

// NotReady names the parts of the instance that have not recovered yet.
func (a *App) NotReady() []string {
	if a.notReady == nil {
		return []string{"starting"}
	}
	return a.notReady()
}

// Wait blocks until the instance stops and returns the first error that stopped it.
func (a *App) Wait() error {
	if a.group == nil {
		return nil
	}
	err := a.group.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close stops everything, the embedded broker last.
func (a *App) Close() {
	if a.cancel != nil {
		a.cancel()
		_ = a.Wait()
	}
	if a.Broker != nil {
		a.Broker.Close()
	}
}

// EnsureTopics creates the catalog's topics (waiting up to a minute for the cluster to answer)
// and returns the replication factor the cluster supports.
func EnsureTopics(ctx context.Context, brokers []string) (int16, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		bs, err := adm.ListBrokers(ctx)
		if err == nil {
			if err := topics.Ensure(ctx, adm); err != nil {
				return 0, err
			}
			return topics.ReplicationFactor(len(bs)), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("kafka at %v did not answer: %w", brokers, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func mailProvider(cfg Config) (mail.Provider, error) {
	outbox := mail.NewOutbox(filepath.Join(cfg.DataDir, "outbox"))
	if cfg.SMTPURL == "" {
		return outbox, nil
	}
	smtp, err := mail.NewSMTP(cfg.SMTPURL)
	if err != nil {
		return nil, err
	}
	return mail.Router(smtp, outbox), nil
}

// loadSecret returns the configured secret, or the one generated at the first start and kept in
// the data dir (readable by its owner only).
func loadSecret(dataDir, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	path := filepath.Join(dataDir, "secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("keeping the generated secret: %w", err)
	}
	return []byte(s), nil
}

// bootstrapAdmin creates the admin account once the tables are recovered, unless the address
// is already taken (it was created at an earlier start).
func bootstrapAdmin(ctx context.Context, srv *views.Server, recovered func() bool, email, password string) error {
	for !recovered() {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	for {
		err := srv.CreateAdmin(ctx, email, password)
		if err == nil || ctx.Err() != nil || errors.Is(err, views.ErrBadAdmin) {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
