// Package bench measures SmartAutoCheck on the embedded broker next to a baseline taken in the
// same run: raw franz-go produce and consume throughput. Figures are printed, never asserted.
// Run with `make bench`.
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/crypto/bcrypt"

	"github.com/smartautocheck/smartautocheck/codecs"
	"github.com/smartautocheck/smartautocheck/internal/app"
	"github.com/smartautocheck/smartautocheck/internal/broker"
	"github.com/smartautocheck/smartautocheck/internal/centers"
	"github.com/smartautocheck/smartautocheck/internal/kafkaconfig"
	"github.com/smartautocheck/smartautocheck/internal/signed"
)

const (
	records    = 100_000
	recordSize = 300
)

func startBroker(b *testing.B) *broker.Broker {
	b.Helper()
	br, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	return br
}

func createTopic(b *testing.B, brokers []string, topic string, partitions int32) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
}

// fill produces n keyed records of recordSize bytes and returns the elapsed time.
func fill(b *testing.B, cl *kgo.Client, topic string, n int, value func(i int) []byte) time.Duration {
	b.Helper()
	start := time.Now()
	var failed atomic.Value
	for i := 0; i < n; i++ {
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte("key-" + strconv.Itoa(i%1000)), Value: value(i)},
			func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Store(err)
				}
			})
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// values are random, so batch compression cannot flatter the figures.
var values = func() []byte {
	b := make([]byte, records*recordSize)
	_, _ = rand.Read(b)
	return b
}()

func payload(i int) []byte { return values[i*recordSize : (i+1)*recordSize] }

func perSecond(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// BenchmarkRawFranzGo is the baseline: what the broker and client alone do on this machine.
func BenchmarkRawFranzGo(b *testing.B) {
	br := startBroker(b)
	brokers := []string{br.Addr()}
	createTopic(b, brokers, "raw", 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	b.ResetTimer()
	produced := fill(b, cl, "raw", records, payload)

	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("raw"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	start, got := time.Now(), 0
	for got < records {
		got += cons.PollFetches(context.Background()).NumRecords()
	}
	consumed := time.Since(start)
	b.ReportMetric(perSecond(records, produced), "produce-rec/s")
	b.ReportMetric(perSecond(records, consumed), "consume-rec/s")
	fmt.Printf("baseline franz-go on the embedded broker: produce %.0f rec/s, consume %.0f rec/s (%d × %d B)\n",
		perSecond(records, produced), perSecond(records, consumed), records, recordSize)
}

// BenchmarkGokaStateful is a trivial stateful Goka processor with this project's settings: each
// record updates a per-key counter in the group table (LevelDB) and emits one record.
func BenchmarkGokaStateful(b *testing.B) {
	br := startBroker(b)
	brokers := []string{br.Addr()}
	createTopic(b, brokers, "bench-in", 2)
	createTopic(b, brokers, "bench-out", 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	fill(b, cl, "bench-in", records, payload)

	cluster := kafkaconfig.Cluster{Brokers: brokers, StateDir: b.TempDir(), ClientID: "bench", Replication: 1}
	var seen atomic.Int64
	done := make(chan struct{})
	g := goka.DefineGroup("bench",
		goka.Input("bench-in", new(codecs.Raw), func(ctx goka.Context, msg any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
			ctx.Emit("bench-out", ctx.Key(), msg)
			if seen.Add(1) == records {
				close(done)
			}
		}),
		goka.Output("bench-out", new(codecs.Raw)),
		goka.Persist(new(codecs.JSON[int64])),
	)
	p, err := goka.NewProcessor(brokers, g, cluster.ProcessorOptions("bench")...)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { errs <- p.Run(ctx) }()
	select {
	case <-done:
	case err := <-errs:
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	cancel()
	<-errs
	b.ReportMetric(perSecond(records, elapsed), "rec/s")
	fmt.Printf("goka stateful processor (LevelDB table, one emit per record): %.0f rec/s, including group join\n",
		perSecond(records, elapsed))
}

// BenchmarkRegisterRoundTrip is the latency a user sees for POST /v1/auth/register: HTTP,
// the email-claim saga over two processors, and the view update that answers the request.
// bcrypt runs at its minimum cost here so the figure is the pipeline's; production cost 10
// adds about 50–70 ms of CPU per registration on this machine.
func BenchmarkRegisterRoundTrip(b *testing.B) {
	dir := b.TempDir()
	a, err := app.Start(context.Background(), app.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
		BcryptCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for !a.Ready() {
		time.Sleep(20 * time.Millisecond)
	}
	const n = 2000
	lat := make([]time.Duration, 0, n)
	url := "http://" + a.HTTPAddr + "/v1/auth/register"
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i++ {
		body, _ := json.Marshal(map[string]string{"email": "bench-" + uuid.NewString() + "@example.com",
			"password": "secret-pass-123", "firstName": "B", "lastName": "M", "phone": "+33612345678"})
		t0 := time.Now()
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("register answered %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	total := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(perSecond(n, total), "sequential-req/s")
	fmt.Printf("register round trip (HTTP → email-claims → emails → user-commands → users → view): p50 %s, p99 %s over %d sequential requests\n",
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), n)
}

// BenchmarkBookingSaga is the booking saga a customer goes through — book, then pay until the
// appointment is confirmed — each request answered once the processors have applied it: HTTP,
// appointments → slots → appointments, then payments → gateway worker → payments → numbering →
// payments → appointments, over six topics. Sequential requests give the latency; eight
// customers at once give the throughput.
func BenchmarkBookingSaga(b *testing.B) {
	day := [][2]string{{"00:00", "24:00"}}
	open := centers.Center{CenterID: "bench", Name: "Bench", Address: "1 Bench St", Timezone: "UTC", Lanes: 1000,
		SlotMinutes: 15, MinLeadMinutes: 0, MaxAdvanceDays: 90, OpeningHours: map[string][][2]string{}}
	for _, d := range centers.Days {
		open.OpeningHours[d] = day
	}
	a, err := app.Start(context.Background(), app.Config{DataDir: b.TempDir(), HTTPAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
		BcryptCost: bcrypt.MinCost, Centers: []centers.Center{open}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for !a.Ready() {
		time.Sleep(20 * time.Millisecond)
	}
	base := "http://" + a.HTTPAddr
	tokens := make([]string, 8)
	for i := range tokens {
		tokens[i] = verifiedCustomer(b, base, a)
	}
	date := time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02")
	saga := func(token string, i int) time.Duration {
		t0 := time.Now()
		body, _ := json.Marshal(map[string]any{"centerId": "bench", "serviceType": "standard", "date": date,
			"time": centers.FormatTime((i/4)%24, (i%4)*15), "vehicle": map[string]any{"registration": "AB-123-CD", "make": "T", "model": "C", "year": 2020}})
		var appt struct {
			AppointmentID string `json:"appointmentId"`
		}
		post(b, base+"/v1/appointments", token, "", body, http.StatusCreated, &appt)
		var pay struct {
			Status string `json:"status"`
		}
		post(b, base+"/v1/appointments/"+appt.AppointmentID+"/payments", token, uuid.NewString(), []byte(`{"method":"paypal"}`), http.StatusCreated, &pay)
		if pay.Status != "completed" {
			b.Fatalf("payment %s", pay.Status)
		}
		return time.Since(t0)
	}
	const sequential, concurrent = 300, 800
	lat := make([]time.Duration, 0, sequential)
	b.ResetTimer()
	for i := 0; i < sequential; i++ {
		lat = append(lat, saga(tokens[0], i))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]

	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < len(tokens); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < concurrent; i += len(tokens) {
				saga(tokens[w], sequential+i)
			}
		}()
	}
	wg.Wait()
	rate := perSecond(concurrent, time.Since(start))
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(rate, "sagas/s")
	fmt.Printf("booking saga (book + pay until confirmed): p50 %s, p99 %s sequential; %.0f sagas/s with 8 customers at once\n",
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), rate)
}

// verifiedCustomer registers a customer, verifies it with the token of its email and logs in.
func verifiedCustomer(b *testing.B, base string, a *app.App) string {
	email := "bench-" + uuid.NewString() + "@example.com"
	body, _ := json.Marshal(map[string]string{"email": email, "password": "secret-pass-123", "firstName": "B",
		"lastName": "M", "phone": "+33612345678"})
	var user struct {
		UserID string `json:"userId"`
	}
	post(b, base+"/v1/auth/register", "", "", body, http.StatusCreated, &user)
	tok, err := signed.New(a.Secret()).VerifyEmailToken(user.UserID, email)
	if err != nil {
		b.Fatal(err)
	}
	post(b, base+"/v1/auth/verify", "", "", []byte(`{"token":"`+tok+`"}`), http.StatusOK, nil)
	var login struct {
		Token string `json:"token"`
	}
	body, _ = json.Marshal(map[string]string{"email": email, "password": "secret-pass-123"})
	post(b, base+"/v1/auth/login", "", "", body, http.StatusOK, &login)
	return login.Token
}

func post(b *testing.B, url, token, idempotencyKey string, body []byte, want int, out any) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		raw, _ := io.ReadAll(resp.Body)
		b.Fatalf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.Fatal(err)
		}
	}
}
