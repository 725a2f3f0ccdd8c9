package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smartautocheck/smartautocheck/internal/app"
	"github.com/smartautocheck/smartautocheck/internal/deadletter"
	"github.com/smartautocheck/smartautocheck/internal/topics"
)

// toolFlags are the flags every tool subcommand shares.
func toolFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	brokers := fs.String("brokers", env("SAC_BROKERS", env("SAC_KAFKA_ADDR", "127.0.0.1:9092")), "Kafka bootstrap brokers, comma-separated (SAC_BROKERS)")
	return fs, brokers
}

func admin(brokers string) (*kgo.Client, *kadm.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(splitList(brokers)...))
	if err != nil {
		return nil, nil, err
	}
	return cl, kadm.NewClient(cl), nil
}

func topicsCmd(ctx context.Context, args []string, out io.Writer) error {
	fs, brokers := toolFlags("topics")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: smartautocheck topics list|ensure [--brokers B]") }
	if len(args) == 0 {
		return errors.New("usage: smartautocheck topics list|ensure [--brokers B]")
	}
	if args[0] == "--help" || args[0] == "-h" {
		fs.Usage()
		return flag.ErrHelp
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch verb {
	case "ensure":
		rf, err := app.EnsureTopics(ctx, splitList(*brokers))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d topics ensured (replication factor %d)\n", len(topics.All()), rf)
		return nil
	case "list":
		cl, adm, err := admin(*brokers)
		if err != nil {
			return err
		}
		defer cl.Close()
		states, err := topics.Describe(ctx, adm)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tCLEANUP\tRETENTION.MS\tKEY\tSTATE")
		for _, s := range states {
			state := "ok"
			switch {
			case !s.Exists:
				state = "missing"
			case s.HasPartitions != s.Partitions:
				state = fmt.Sprintf("has %d partitions", s.HasPartitions)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.Name, s.Partitions, s.Cleanup, s.Configs["retention.ms"], s.Key, state)
		}
		return tw.Flush()
	}
	fs.Usage()
	return fmt.Errorf("unknown topics verb %q", verb)
}

// printedRecord is one record as `consume` and `dlq list` print it: a JSON line.
type printedRecord struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Timestamp time.Time       `json:"timestamp"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value,omitempty"`
	Raw       string          `json:"raw,omitempty"`
}

func printRecord(out io.Writer, r *kgo.Record) error {
	p := printedRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UTC(), Key: string(r.Key)}
	if json.Valid(r.Value) {
		p.Value = r.Value
	} else {
		p.Raw = string(r.Value)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// readTopic reads a topic without a group. From the beginning with untilEnd, it stops at the
// end offsets seen when it started.
func readTopic(ctx context.Context, brokers, topic string, fromStart, untilEnd bool, each func(*kgo.Record) error) error {
	start := kgo.NewOffset().AtEnd()
	if fromStart {
		start = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(splitList(brokers)...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(start))
	if err != nil {
		return err
	}
	defer cl.Close()
	remaining := map[int32]int64{}
	if untilEnd {
		ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
		if err != nil {
			return err
		}
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err == nil && o.Offset > 0 {
				remaining[o.Partition] = o.Offset
			}
		})
		if ends.Error() != nil {
			return fmt.Errorf("topic %s: %w", topic, ends.Error())
		}
	}
	for !untilEnd || len(remaining) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return ferr
		}
		var herr error
		fetches.EachRecord(func(r *kgo.Record) {
			if herr != nil {
				return
			}
			if end, ok := remaining[r.Partition]; untilEnd && (!ok || r.Offset >= end) {
				return
			}
			herr = each(r)
			if untilEnd && r.Offset+1 >= remaining[r.Partition] {
				delete(remaining, r.Partition)
			}
		})
		if herr != nil {
			return herr
		}
	}
	return nil
}

func consumeCmd(ctx context.Context, args []string, out io.Writer) error {
	fs, brokers := toolFlags("consume")
	topic := fs.String("topic", "", "topic to read")
	fromStart := fs.Bool("from-beginning", false, "start at the oldest record instead of the newest")
	untilEnd := fs.Bool("until-end", false, "stop at the end of the topic as it was at start (with --from-beginning)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" {
		return errors.New("consume: --topic is required")
	}
	return readTopic(ctx, *brokers, *topic, *fromStart, *untilEnd, func(r *kgo.Record) error { return printRecord(out, r) })
}

func groupsCmd(ctx context.Context, args []string, out io.Writer) error {
	fs, brokers := toolFlags("groups")
	describe := ""
	if len(args) > 0 && args[0] == "describe" {
		if len(args) < 2 {
			return errors.New("usage: smartautocheck groups describe GROUP")
		}
		describe, args = args[1], args[2:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, adm, err := admin(*brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	var lags kadm.DescribedGroupLags
	if describe != "" {
		lags, err = adm.Lag(ctx, describe)
	} else {
		lags, err = adm.Lag(ctx)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if describe == "" {
		fmt.Fprintln(tw, "GROUP\tSTATE\tMEMBERS\tLAG")
		for _, l := range lags.Sorted() {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", l.Group, l.State, len(l.Members), l.Lag.Total())
		}
		return tw.Flush()
	}
	l, ok := lags[describe]
	if !ok || l.Error() != nil {
		return fmt.Errorf("group %s: not found", describe)
	}
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG")
	for _, m := range l.Lag.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", describe, m.Topic, m.Partition, m.Commit.At, m.End.Offset, m.Lag)
	}
	return tw.Flush()
}

func dlqCmd(ctx context.Context, args []string, out io.Writer) error {
	fs, brokers := toolFlags("dlq")
	if len(args) == 0 {
		return errors.New("usage: smartautocheck dlq list | dlq replay OFFSET")
	}
	verb, rest := args[0], args[1:]
	var offset int64 = -1
	if verb == "replay" {
		if len(rest) == 0 {
			return errors.New("usage: smartautocheck dlq replay OFFSET (the letter's offset in dead-letters, from dlq list)")
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return fmt.Errorf("offset %q: not a number", rest[0])
		}
		offset, rest = n, rest[1:]
	} else if verb != "list" {
		return fmt.Errorf("unknown dlq verb %q", verb)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	var letters []struct {
		offset int64
		l      deadletter.Letter
	}
	err := readTopic(ctx, *brokers, topics.DeadLetters, true, true, func(r *kgo.Record) error {
		var l deadletter.Letter
		if err := json.Unmarshal(r.Value, &l); err != nil {
			return fmt.Errorf("dead letter at offset %d: %w", r.Offset, err)
		}
		letters = append(letters, struct {
			offset int64
			l      deadletter.Letter
		}{r.Offset, l})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(letters, func(i, j int) bool { return letters[i].offset < letters[j].offset })
	if verb == "list" {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "OFFSET\tTIME\tGROUP\tORIGIN\tKEY\tATTEMPTS\tERROR")
		for _, x := range letters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s/%d@%d\t%s\t%d\t%s\n", x.offset, x.l.Time.Format(time.RFC3339), x.l.Group,
				x.l.Topic, x.l.Partition, x.l.Offset, x.l.Key, x.l.Attempts, x.l.Error)
		}
		return tw.Flush()
	}
	for _, x := range letters {
		if x.offset != offset {
			continue
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(splitList(*brokers)...))
		if err != nil {
			return err
		}
		defer cl.Close()
		// The original key goes back with the value, so the record reaches the partition (and
		// the processor) it came from.
		rec := &kgo.Record{Topic: x.l.Topic, Key: []byte(x.l.Key), Value: x.l.Value}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return err
		}
		fmt.Fprintf(out, "replayed dead letter %d to %s partition %d offset %d\n", offset, rec.Topic, rec.Partition, rec.Offset)
		return nil
	}
	return fmt.Errorf("no dead letter at offset %d", offset)
}
