package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/minimost/minimost/pkg/fsutil"
)

// ensureCert creates a self-signed certificate for localhost, 127.0.0.1 and ::1 at certPath
// and keyPath (key mode 0600) when either is missing; existing files are kept.
func ensureCert(certPath, keyPath string, now time.Time) (created bool, err error) {
	_, errC := os.Stat(certPath)
	_, errK := os.Stat(keyPath)
	if errC == nil && errK == nil {
		if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			os.Chmod(keyPath, 0o600)
		}
		return false, nil
	}
	if (errC == nil) != (errK == nil) {
		missing := certPath
		if errC == nil {
			missing = keyPath
		}
		if !errors.Is(errC, fs.ErrNotExist) && !errors.Is(errK, fs.ErrNotExist) {
			return false, fmt.Errorf("tls: %v %v", errC, errK)
		}
		return false, fmt.Errorf("tls: %s is missing but its pair exists; restore it or remove both to generate a new self-signed pair", missing)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"MiniMost self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return false, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return false, err
	}
	if err := fsutil.WriteNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return false, err
	}
	if err := fsutil.WriteNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		os.Remove(keyPath)
		return false, err
	}
	return true, nil
}
