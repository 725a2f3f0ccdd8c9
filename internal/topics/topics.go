// Package topics is the one catalog of every Kafka topic SmartAutoCheck reads or writes: the
// six topics of the event catalog, which are a contract with other consumers, and the internal
// ones (commands, group tables, intents, dead letters) that only this system uses.
package topics

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Catalog topics: names, partition counts and retention are fixed by the event catalog.
const (
	Appointments  = "appointments-topic"
	Payments      = "payments-topic"
	Inspections   = "inspections-topic"
	Certificates  = "certificates-topic"
	Notifications = "notifications-topic"
	Users         = "users-topic"
)

// Internal topics.
const (
	UserCommands         = "user-commands"
	EmailClaims          = "email-claims"
	NotificationCommands = "notification-commands"
	NotificationIntents  = "notification-intents"
	AppointmentCommands  = "appointment-commands"
	SlotCommands         = "slot-commands"
	CenterCommands       = "center-commands"
	PaymentCommands      = "payment-commands"
	PaymentIntents       = "payment-intents"
	NumberingCommands    = "numbering-commands"
	TimerCommands        = "timer-commands"
	DeadLetters          = "dead-letters"
)

// Goka groups whose names the catalog fixes, and the others.
const (
	GroupAppointments = "appointments-consumer"
	GroupPayments     = "payments-consumer"
	GroupSlots        = "slots"
	GroupCenters      = "centers"
	GroupNumbering    = "numbering"
	GroupTimers       = "timers"
)

// Cleanup policies.
const (
	Delete  = "delete"
	Compact = "compact"
)

const day = 24 * time.Hour

// Topic describes one topic as it must exist on any cluster.
type Topic struct {
	Name       string
	Partitions int32
	// Retention applies to delete topics; compacted tables keep the latest value per key forever.
	Retention time.Duration
	Cleanup   string
	// Catalog marks the topics of the event catalog.
	Catalog bool
	// Key names what the records are keyed by, for people reading `topics list`.
	Key string
}

// Configs returns the topic-level Kafka configs that make the topic what the catalog says.
func (t Topic) Configs() map[string]string {
	c := map[string]string{"cleanup.policy": t.Cleanup}
	if t.Cleanup == Delete {
		c["retention.ms"] = strconv.FormatInt(t.Retention.Milliseconds(), 10)
	} else {
		// A table's tombstones and superseded values go soon, so restoring a table stays cheap.
		c["min.cleanable.dirty.ratio"] = "0.1"
		c["delete.retention.ms"] = strconv.FormatInt(day.Milliseconds(), 10)
		c["segment.ms"] = strconv.FormatInt(time.Hour.Milliseconds(), 10)
	}
	return c
}

// commandPartitions is shared by every keyed internal stream and table so that each Goka
// group's inputs and table are copartitioned (Goka refuses them otherwise).
const commandPartitions = 2

// Table returns the compacted topic behind a Goka group's table.
func Table(group string) string { return group + "-table" }

// All lists every topic: the catalog's first, then the internal ones.
func All() []Topic {
	return []Topic{
		{Name: Appointments, Partitions: 2, Retention: 7 * day, Cleanup: Delete, Catalog: true, Key: "appointmentId"},
		{Name: Payments, Partitions: 2, Retention: 30 * day, Cleanup: Delete, Catalog: true, Key: "appointmentId"},
		{Name: Inspections, Partitions: 2, Retention: 7 * day, Cleanup: Delete, Catalog: true, Key: "inspectorId"},
		{Name: Certificates, Partitions: 2, Retention: 30 * day, Cleanup: Delete, Catalog: true, Key: "appointmentId"},
		{Name: Notifications, Partitions: 1, Retention: 3 * day, Cleanup: Delete, Catalog: true, Key: "notificationId"},
		{Name: Users, Partitions: 1, Retention: 7 * day, Cleanup: Delete, Catalog: true, Key: "userId"},

		{Name: UserCommands, Partitions: commandPartitions, Retention: 7 * day, Cleanup: Delete, Key: "userId"},
		{Name: Table("users"), Partitions: commandPartitions, Cleanup: Compact, Key: "userId"},
		{Name: EmailClaims, Partitions: commandPartitions, Retention: 7 * day, Cleanup: Delete, Key: "lower-case email"},
		{Name: Table("emails"), Partitions: commandPartitions, Cleanup: Compact, Key: "lower-case email"},
		// Commands and intents outlive the longest retention of the topics they are derived from,
		// so a consumer that was down for a while still finds what it has to replay.
		{Name: NotificationCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "notificationId"},
		{Name: Table("notifications"), Partitions: commandPartitions, Cleanup: Compact, Key: "notificationId"},
		// One partition: one member sends at a time (the sticky balancer keeps it where it is), so
		// an instance's outbox holds what it sent and sends keep their order.
		{Name: NotificationIntents, Partitions: 1, Retention: 30 * day, Cleanup: Delete, Key: "notificationId"},
		{Name: AppointmentCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "appointmentId"},
		{Name: Table(GroupAppointments), Partitions: commandPartitions, Cleanup: Compact, Key: "appointmentId"},
		{Name: SlotCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "centerId|date"},
		{Name: Table(GroupSlots), Partitions: commandPartitions, Cleanup: Compact, Key: "centerId|date"},
		{Name: CenterCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "centerId"},
		{Name: Table(GroupCenters), Partitions: commandPartitions, Cleanup: Compact, Key: "centerId"},
		{Name: PaymentCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "appointmentId"},
		{Name: Table(GroupPayments), Partitions: commandPartitions, Cleanup: Compact, Key: "appointmentId"},
		{Name: PaymentIntents, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "appointmentId"},
		{Name: NumberingCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "series"},
		{Name: Table(GroupNumbering), Partitions: commandPartitions, Cleanup: Compact, Key: "series"},
		{Name: TimerCommands, Partitions: commandPartitions, Retention: 30 * day, Cleanup: Delete, Key: "due time|timer id"},
		{Name: Table(GroupTimers), Partitions: commandPartitions, Cleanup: Compact, Key: "due time|timer id"},
		{Name: DeadLetters, Partitions: 1, Retention: 30 * day, Cleanup: Delete, Key: "origin key"},
	}
}

// ByName finds a topic of the catalog.
func ByName(name string) (Topic, bool) {
	for _, t := range All() {
		if t.Name == name {
			return t, true
		}
	}
	return Topic{}, false
}

// CatalogNames lists the six catalog topics, sorted.
func CatalogNames() []string {
	var names []string
	for _, t := range All() {
		if t.Catalog {
			names = append(names, t.Name)
		}
	}
	sort.Strings(names)
	return names
}

// String renders the topic for `topics list`.
func (t Topic) String() string {
	ret := "compact"
	if t.Cleanup == Delete {
		ret = t.Retention.String()
	}
	return fmt.Sprintf("%-24s partitions=%d cleanup=%s retention=%s key=%s", t.Name, t.Partitions, t.Cleanup, ret, t.Key)
}
