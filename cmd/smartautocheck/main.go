// Command smartautocheck runs the SmartAutoCheck vehicle inspection system and its tools: `run`
// starts everything in one process (on an embedded Kafka-protocol broker unless --brokers is
// given); the other subcommands inspect and repair the Kafka side.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/smartautocheck/smartautocheck/internal/app"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/gateway"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `smartautocheck — vehicle technical inspections as stream processors over Kafka

Usage:
  smartautocheck run [flags]                  run everything (embedded broker unless --brokers)
  smartautocheck topics list|ensure           show or create the topic catalog
  smartautocheck consume --topic T [--from-beginning] [--until-end]
  smartautocheck groups [describe GROUP]      consumer groups and their lag
  smartautocheck dlq list|replay OFFSET       dead letters: show them, send one back
  smartautocheck version

Every subcommand takes --help and --brokers (SAC_BROKERS).
`

func main() {
	if err := dispatch(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // --help asked for the usage, which the flag set printed
		}
		fmt.Fprintln(os.Stderr, "smartautocheck:", err)
		os.Exit(2)
	}
}

func dispatch(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		return run(ctx, args[1:])
	case "topics":
		return topicsCmd(ctx, args[1:], out)
	case "consume":
		return consumeCmd(ctx, args[1:], out)
	case "groups":
		return groupsCmd(ctx, args[1:], out)
	case "dlq":
		return dlqCmd(ctx, args[1:], out)
	case "version":
		fmt.Fprintln(out, "smartautocheck", version)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n\n%s", args[0], usage)
}

// paymentGateway builds the configured gateway; PayPal's credentials come from the environment
// only, so they never appear in a process listing.
func paymentGateway(name, publicURL, httpAddr string) (gateway.Gateway, error) {
	switch name {
	case "sandbox":
		return gateway.NewSandbox(), nil
	case "paypal":
		if publicURL == "" {
			publicURL = "http://" + httpAddr
		}
		return gateway.NewPayPal(gateway.PayPalConfig{BaseURL: env("SAC_PAYPAL_BASE_URL", "https://api-m.sandbox.paypal.com"),
			ClientID: os.Getenv("SAC_PAYPAL_CLIENT_ID"), Secret: os.Getenv("SAC_PAYPAL_SECRET"),
			ReturnURL: env("SAC_PAYPAL_RETURN_URL", publicURL), CancelURL: env("SAC_PAYPAL_CANCEL_URL", publicURL)})
	}
	return nil, fmt.Errorf("unknown gateway %q (sandbox or paypal)", name)
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	dataDir := fs.String("data-dir", env("SAC_DATA_DIR", "./data"), "where state, the embedded broker's log and the outbox live (SAC_DATA_DIR)")
	httpAddr := fs.String("http-addr", env("SAC_HTTP_ADDR", "127.0.0.1:8080"), "HTTP listen address (SAC_HTTP_ADDR)")
	publicURL := fs.String("public-url", env("SAC_PUBLIC_URL", ""), "base URL of links in emails (SAC_PUBLIC_URL; default http://<http-addr>)")
	brokers := fs.String("brokers", env("SAC_BROKERS", ""), "Kafka bootstrap brokers, comma-separated; empty runs the embedded broker (SAC_BROKERS)")
	kafkaAddr := fs.String("kafka-addr", env("SAC_KAFKA_ADDR", "127.0.0.1:9092"), "embedded broker's listen address (SAC_KAFKA_ADDR)")
	syncWrites := fs.Bool("sync-writes", env("SAC_SYNC_WRITES", "") == "true", "embedded broker fsyncs every batch before acknowledging it (SAC_SYNC_WRITES)")
	secret := fs.String("secret", env("SAC_SECRET", ""), "signing secret shared by all instances (SAC_SECRET; default generated once in the data dir)")
	adminEmail := fs.String("admin-email", env("SAC_ADMIN_EMAIL", ""), "admin account created at start (SAC_ADMIN_EMAIL)")
	adminPassword := fs.String("admin-password", env("SAC_ADMIN_PASSWORD", ""), "its password (SAC_ADMIN_PASSWORD)")
	processors := fs.String("processors", env("SAC_PROCESSORS", ""), "processors to run, comma-separated (SAC_PROCESSORS; default all: "+strings.Join(app.AllProcessors, ",")+")")
	smtpURL := fs.String("smtp-url", env("SAC_SMTP_URL", ""), "send emails over SMTP, e.g. smtp://user:pass@host:587?from=no-reply@example.com (SAC_SMTP_URL; default outbox files)")
	hold := fs.Duration("payment-hold", envDuration("SAC_PAYMENT_HOLD", 15*time.Minute), "payment window of a booking (SAC_PAYMENT_HOLD)")
	centersFile := fs.String("centers", env("SAC_CENTERS", ""), "centers configuration file (SAC_CENTERS; default the built-in center)")
	gatewayName := fs.String("gateway", env("SAC_GATEWAY", "sandbox"), "payment gateway: sandbox or paypal (SAC_GATEWAY; paypal reads SAC_PAYPAL_BASE_URL, SAC_PAYPAL_CLIENT_ID, SAC_PAYPAL_SECRET)")
	wait := fs.Duration("wait", envDuration("SAC_WAIT", 5*time.Second), "how long a command request waits for its outcome before answering 202 (SAC_WAIT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var cs []centers.Center
	if *centersFile != "" {
		var err error
		if cs, err = centers.Load(*centersFile); err != nil {
			return err
		}
	}
	gw, err := paymentGateway(*gatewayName, *publicURL, *httpAddr)
	if err != nil {
		return err
	}
	a, err := app.Start(ctx, app.Config{PaymentHold: *hold, Centers: cs, Gateway: gw, DataDir: *dataDir, HTTPAddr: *httpAddr, PublicURL: *publicURL,
		Brokers: splitList(*brokers), KafkaAddr: *kafkaAddr, SyncWrites: *syncWrites, Secret: *secret,
		AdminEmail: *adminEmail, AdminPassword: *adminPassword, Processors: splitList(*processors),
		SMTPURL: *smtpURL, Wait: *wait, Log: log})
	if err != nil {
		return err
	}
	log.Info("serving", "http", a.HTTPAddr, "brokers", strings.Join(a.Brokers, ","))
	done := make(chan error, 1)
	go func() { done <- a.Wait() }()
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err = <-done:
	}
	a.Close()
	return err
}
