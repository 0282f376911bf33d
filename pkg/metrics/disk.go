package metrics

import (
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Disk is a collector of the data directory's disk use: minimost_disk_bytes{part,kind} for
// users/ (the user databases), auth.db, presence.db, uploads/ and avatars/, with kind "data"
// or "wal" (the -wal and -shm files), and minimost_user_databases. Walking users/ at every
// scrape of a server with thousands of users would be wasteful, so the sizes are measured at
// most once per Every.
type Disk struct {
	// Dir is the data directory.
	Dir string
	// Every is how long a measurement is reused (default 30 s).
	Every time.Duration

	mu   sync.Mutex
	at   time.Time
	last DiskSizes
}

// DiskSizes are the sizes Disk measures, in bytes.
type DiskSizes struct {
	// Data and WAL map a part (users, auth_db, presence_db, uploads, avatars) to its
	// database (or file) bytes and its -wal and -shm bytes.
	Data, WAL map[string]int64
	// UserDatabases counts users/*.db.
	UserDatabases int
}

var (
	diskBytesDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "disk_bytes"),
		"Bytes on disk in the data directory by part (users, auth_db, presence_db, uploads, avatars) and kind (data; wal: the -wal and -shm files). Measured at most every 30 s.",
		[]string{"part", "kind"}, nil)
	userDBsDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "user_databases"),
		"users/*.db files. Measured at most every 30 s.", nil, nil)
)

// Describe implements prometheus.Collector.
func (d *Disk) Describe(ch chan<- *prometheus.Desc) {
	ch <- diskBytesDesc
	ch <- userDBsDesc
}

// Collect implements prometheus.Collector.
func (d *Disk) Collect(ch chan<- prometheus.Metric) {
	s := d.Sizes()
	for _, part := range []string{"users", "auth_db", "presence_db", "uploads", "avatars"} {
		ch <- prometheus.MustNewConstMetric(diskBytesDesc, prometheus.GaugeValue, float64(s.Data[part]), part, "data")
		ch <- prometheus.MustNewConstMetric(diskBytesDesc, prometheus.GaugeValue, float64(s.WAL[part]), part, "wal")
	}
	ch <- prometheus.MustNewConstMetric(userDBsDesc, prometheus.GaugeValue, float64(s.UserDatabases))
}

// Sizes measures the data directory, or returns the measurement of less than Every ago.
func (d *Disk) Sizes() DiskSizes {
	d.mu.Lock()
	defer d.mu.Unlock()
	every := d.Every
	if every == 0 {
		every = 30 * time.Second
	}
	if !d.at.IsZero() && time.Since(d.at) < every {
		return d.last
	}
	s := DiskSizes{Data: map[string]int64{}, WAL: map[string]int64{}}
	add := func(part, path string, n int64) {
		if strings.HasSuffix(path, "-wal") || strings.HasSuffix(path, "-shm") {
			s.WAL[part] += n
		} else {
			s.Data[part] += n
		}
	}
	walk := func(part, root string) {
		filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			if fi, err := e.Info(); err == nil {
				add(part, p, fi.Size())
				if part == "users" && filepath.Ext(p) == ".db" {
					s.UserDatabases++
				}
			}
			return nil
		})
	}
	walk("users", filepath.Join(d.Dir, "users"))
	for part, name := range map[string]string{"auth_db": "auth.db", "presence_db": "presence.db"} {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			walk(part, filepath.Join(d.Dir, name+suffix))
		}
	}
	walk("uploads", filepath.Join(d.Dir, "uploads"))
	walk("avatars", filepath.Join(d.Dir, "avatars"))
	d.at, d.last = time.Now(), s
	return s
}
