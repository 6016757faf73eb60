// Command testregistry is the OCI registry charter's tests push to and pull from: the registry of
// github.com/google/go-containerregistry (pkg/registry, the OCI distribution API over memory)
// behind what a real registry puts in front of it, so the client is tested against the same
// flows as on Docker Hub, GHCR or Harbor:
//
//   - TLS with a CA generated per registry (written to STATE/ca.crt), or --plain-http;
//   - --auth basic: every /v2/ request needs HTTP Basic credentials from --users;
//   - --auth token: the Docker/OCI Bearer flow. /v2/ requests without a token that grants the
//     repository and action (pull for GET/HEAD, push otherwise) get 401 with
//     `WWW-Authenticate: Bearer realm=…/token,service=…,scope=repository:NAME:ACTIONS`; /token
//     checks Basic credentials and issues an opaque token for the requested scopes;
//   - tag lists paginated with `n`/`last` and a `Link: <…>; rel="next"` header, as the
//     distribution spec describes (the library ignores pagination past `n`).
//
// With --test-endpoints it also serves, without authentication, what tests need to see inside:
//
//	GET  /_test/requests[?match=S]  the requests served so far (method, path, query, status),
//	                                those whose path or query contains S
//	POST /_test/corrupt?digest=D    flip one byte of a stored blob, so it no longer matches D
//	POST /_test/fail?match=S&status=C&count=N
//	                                answer the next N requests whose path contains S with C
//	POST /_test/tags-page?n=N       page tag lists by N when the client asks for no size
//
// When listening, it writes the address (127.0.0.1:PORT) to STATE/addr.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const service = "charter-test-registry"

func main() {
	stateDir := flag.String("state-dir", "", "directory for ca.crt and addr (required)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	auth := flag.String("auth", "basic", "none, basic or token")
	usersFile := flag.String("users", "", "file of user:password lines (basic and token auth)")
	plainHTTP := flag.Bool("plain-http", false, "serve plain HTTP instead of TLS")
	testEndpoints := flag.Bool("test-endpoints", false, "serve /_test/ (request log, blob corruption, fault injection)")
	flag.Parse()
	if *stateDir == "" {
		log.Fatal("--state-dir is required")
	}
	if *auth != "none" && *auth != "basic" && *auth != "token" {
		log.Fatalf("--auth must be none, basic or token, got %q", *auth)
	}
	users := map[string]string{}
	if *auth != "none" {
		if *usersFile == "" {
			log.Fatalf("--auth %s needs --users FILE", *auth)
		}
		var err error
		if users, err = readUsers(*usersFile); err != nil {
			log.Fatal(err)
		}
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	scheme := "https"
	if *plainHTTP {
		scheme = "http"
	} else {
		cert, err := makeTLS(*stateDir)
		if err != nil {
			log.Fatal(err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}

	blobs := &blobStore{m: map[string][]byte{}}
	s := &server{
		mode:     *auth,
		users:    users,
		realm:    fmt.Sprintf("%s://%s/token", scheme, addr),
		tokens:   map[string]grant{},
		blobs:    blobs,
		registry: registry.New(registry.WithBlobHandler(blobs), registry.Logger(log.New(io.Discard, "", 0))),
		test:     *testEndpoints,
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}

	if err := writeFileAtomic(filepath.Join(*stateDir, "addr"), []byte(addr+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("serving %s://%s (auth %s, test endpoints %v)", scheme, addr, *auth, *testEndpoints)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func readUsers(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, password, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%s:%d: expected user:password", path, i+1)
		}
		users[user] = password
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	return users, nil
}

// ---------------------------------------------------------------------------------------------
// Blobs in memory, with a way to corrupt one.

type blobStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *blobStore) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[h.String()]
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *blobStore) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[h.String()]
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(data)), nil
}

func (b *blobStore) Put(_ context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[h.String()] = data
	return nil
}

func (b *blobStore) Delete(_ context.Context, _ string, h v1.Hash) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[h.String()]; !ok {
		return registry.ErrNotFound
	}
	delete(b.m, h.String())
	return nil
}

// corrupt flips the last byte of a blob: same size, another digest.
func (b *blobStore) corrupt(digest string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[digest]
	if !ok || len(data) == 0 {
		return false
	}
	changed := append([]byte(nil), data...)
	changed[len(changed)-1] ^= 0xff
	b.m[digest] = changed
	return true
}

// ---------------------------------------------------------------------------------------------
// The front: authentication, tag pagination, test endpoints, request log.

type grant struct {
	user    string
	access  map[string]map[string]bool // repository -> action -> granted
	expires time.Time
}

type logEntry struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Status int    `json:"status"`
}

type fault struct {
	match  string
	status int
	count  int
}

type server struct {
	mode     string
	users    map[string]string
	realm    string
	blobs    *blobStore
	registry http.Handler
	test     bool

	mu       sync.Mutex
	tokens   map[string]grant
	log      []logEntry
	faults   []fault
	tagsPage int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.test && strings.HasPrefix(r.URL.Path, "/_test/") {
		s.serveTest(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.serve(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	log.Printf("%s %s?%s %d", r.Method, r.URL.Path, r.URL.RawQuery, sw.status)
	s.mu.Lock()
	s.log = append(s.log, logEntry{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: sw.status})
	s.mu.Unlock()
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	if status, ok := s.takeFault(r.URL.Path); ok {
		writeError(w, status, "UNAVAILABLE", "injected failure (/_test/fail)")
		return
	}
	if r.URL.Path == "/token" && s.mode == "token" {
		s.serveToken(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v2") {
		http.NotFound(w, r)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tags/list") {
		s.serveTags(w, r)
		return
	}
	s.registry.ServeHTTP(w, r)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": message}},
	})
}

// repoAndAction: the repository a /v2/ path names ("" for /v2/ itself) and the action the
// method needs.
func repoAndAction(r *http.Request) (string, string) {
	action := "push"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		action = "pull"
	}
	rest := strings.TrimPrefix(r.URL.Path, "/v2/")
	for _, marker := range []string{"/blobs/", "/manifests/", "/tags/", "/referrers/"} {
		if i := strings.Index(rest, marker); i > 0 {
			return rest[:i], action
		}
	}
	return "", action
}

func (s *server) authorized(w http.ResponseWriter, r *http.Request) bool {
	switch s.mode {
	case "none":
		return true
	case "basic":
		user, password, ok := r.BasicAuth()
		if ok && s.users[user] == password && password != "" {
			return true
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", service))
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	}
	repo, action := repoAndAction(r)
	scope := ""
	if repo != "" {
		actions := action
		if action == "push" {
			actions = "pull,push"
		}
		scope = fmt.Sprintf("repository:%s:%s", repo, actions)
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		s.mu.Lock()
		g, found := s.tokens[token]
		s.mu.Unlock()
		if found && time.Now().Before(g.expires) && (repo == "" || g.access[repo][action]) {
			return true
		}
	}
	challenge := fmt.Sprintf("Bearer realm=%q,service=%q", s.realm, service)
	if scope != "" {
		challenge += fmt.Sprintf(",scope=%q", scope)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	return false
}

// serveToken: GET /token?service=S&scope=repository:NAME:ACTIONS (scope repeated or
// space-separated). Valid Basic credentials get every action asked for; none get a token that
// grants nothing (anonymous); wrong ones get 401. POST is the OAuth2 refresh-token grant.
func (s *server) serveToken(w http.ResponseWriter, r *http.Request) {
	if got := r.FormValue("service"); got != service {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", fmt.Sprintf("unknown service %q", got))
		return
	}
	user, password, hasAuth := r.BasicAuth()
	scopes := r.URL.Query()["scope"]
	if r.Method == http.MethodPost {
		// The OAuth2 refresh-token grant Docker uses for an identity token; here a user's
		// password serves as that user's refresh token.
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" {
			writeError(w, http.StatusBadRequest, "UNSUPPORTED", "only grant_type=refresh_token is supported")
			return
		}
		user, hasAuth = "", false
		for u, p := range s.users {
			if p != "" && p == r.PostForm.Get("refresh_token") {
				user, password, hasAuth = u, p, true
			}
		}
		if !hasAuth {
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid refresh token")
			return
		}
		scopes = r.PostForm["scope"]
	}
	if hasAuth && (s.users[user] != password || password == "") {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", service))
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid credentials")
		return
	}
	g := grant{user: user, access: map[string]map[string]bool{}, expires: time.Now().Add(5 * time.Minute)}
	if hasAuth {
		for _, list := range scopes {
			for _, scope := range strings.Fields(list) {
				parts := strings.Split(scope, ":")
				if len(parts) != 3 || parts[0] != "repository" {
					continue
				}
				if g.access[parts[1]] == nil {
					g.access[parts[1]] = map[string]bool{}
				}
				for _, a := range strings.Split(parts[2], ",") {
					g.access[parts[1]][a] = true
				}
			}
		}
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	token := hex.EncodeToString(raw)
	s.mu.Lock()
	s.tokens[token] = g
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        token,
		"access_token": token,
		"expires_in":   300,
		"issued_at":    time.Now().UTC().Format(time.RFC3339),
	})
}

// serveTags pages the full tag list from the library: `n` tags after `last`, and a Link header
// to the next page when more remain.
func (s *server) serveTags(w http.ResponseWriter, r *http.Request) {
	inner := r.Clone(r.Context())
	inner.URL.RawQuery = ""
	rec := httptest.NewRecorder()
	s.registry.ServeHTTP(rec, inner)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	var list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	sort.Strings(list.Tags)
	q := r.URL.Query()
	if q.Get("n") == "" {
		s.mu.Lock()
		if s.tagsPage > 0 {
			q.Set("n", strconv.Itoa(s.tagsPage))
		}
		s.mu.Unlock()
	}
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(list.Tags, last)
		for i < len(list.Tags) && list.Tags[i] <= last {
			i++
		}
		list.Tags = list.Tags[i:]
	}
	if ns := q.Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "n must be a non-negative number")
			return
		}
		if n < len(list.Tags) {
			list.Tags = list.Tags[:n]
			if n > 0 {
				next := url.Values{"n": {ns}, "last": {list.Tags[n-1]}}
				w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", r.URL.Path, next.Encode()))
			}
		}
	}
	if list.Tags == nil {
		list.Tags = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

func (s *server) takeFault(path string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.count > 0 && strings.Contains(path, f.match) {
			f.count--
			return f.status, true
		}
	}
	return 0, false
}

func (s *server) serveTest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/_test/requests" && r.Method == http.MethodGet:
		match := q.Get("match")
		s.mu.Lock()
		out := []logEntry{}
		for _, e := range s.log {
			if match == "" || strings.Contains(e.Path, match) || strings.Contains(e.Query, match) {
				out = append(out, e)
			}
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	case r.URL.Path == "/_test/corrupt" && r.Method == http.MethodPost:
		if !s.blobs.corrupt(q.Get("digest")) {
			http.Error(w, "no such blob", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_test/fail" && r.Method == http.MethodPost:
		status, err1 := strconv.Atoi(q.Get("status"))
		count, err2 := strconv.Atoi(q.Get("count"))
		if err1 != nil || err2 != nil || q.Get("match") == "" {
			http.Error(w, "need match, status and count", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.faults = append(s.faults, fault{match: q.Get("match"), status: status, count: count})
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_test/tags-page" && r.Method == http.MethodPost:
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 {
			http.Error(w, "need n", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.tagsPage = n
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// ---------------------------------------------------------------------------------------------
// TLS: a CA and a server certificate for 127.0.0.1 and localhost, new for each registry.

func makeTLS(dir string) (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "charter test registry CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := writeFileAtomic(filepath.Join(dir, "ca.crt"), caPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
