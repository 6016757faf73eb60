// The Helm differential oracle for crates/gotemplate: test tooling, never part of charter.
//
// A long-running process: one JSON request per line on stdin, one JSON response per line on
// stdout, in order. Two modes:
//
//	{"mode":"text", "templates":[{"name":"a","text":"..."}], "execute":["a"],
//	 "data":<JSON>, "missingkey":"default|zero|error", "ints":false, "funcs":"sprig|none"}
//
// parses the templates in order into one Go text/template set named "oracle-root" with
// Sprig's function map (as Helm has it: without env and expandenv; "none": only Go's
// built-ins, which Sprig's "slice" would shadow) and executes each name in "execute" with
// "data" as dot. Go's raw output and error strings come back:
//
//	{"parse_error":"..."}  or  {"results":[{"output":"..."} | {"error":"..."}]}
//
// With "ints", integral JSON numbers in data become int64 (as Helm's --set makes them);
// otherwise every number is a float64, as Helm reads values files.
//
//	{"mode":"helm", "templates":[{"name":"x.yaml","text":"..."}], "values":<JSON>,
//	 "release":"NAME", "namespace":"NS", "strict":false, "ints":false}
//
// renders a chart named "oracle" holding those files under templates/ through Helm's own
// pkg/engine with ToRenderValues, as `helm template` does (defaults: release "release",
// namespace "default"), and returns {"rendered":{"templates/x.yaml":"..."}} or {"error":"..."}.
// With "repeat": N it renders N times and adds "ns_per_render" (parse and execute, as Helm
// does on every render), for benchmarks.
// "ints" makes integral numbers in values int64, as in "text" mode.
//
//	{"mode":"chart", "files":[{"name":"Chart.yaml","text":"..."}, ...], "value_files":["a: 1"],
//	 "set":["a=1"], "set_string":[], "set_json":[], "release":"NAME", "namespace":"NS",
//	 "kube_version":"1.33.0", "api_versions":[], "include_crds":false}
//
// writes the files (a whole chart: Chart.yaml, values.yaml, templates/, charts/SUB/...) to a
// temporary directory and runs what `helm template` runs on it: the values flags merged as the
// command line would merge them, the chart loaded, its dependencies checked, and an install
// with --dry-run=client. It answers {"manifest":"...", "hooks":[{"path":"...","manifest":"..."}],
// "notes":"..."} (the manifest as `helm template` prints it before the hooks) or {"error":"..."}.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"

	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/getter"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
)

type file struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

type request struct {
	Mode       string          `json:"mode"`
	Templates  []file          `json:"templates"`
	Execute    []string        `json:"execute"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
	Ints       bool            `json:"ints"`
	Funcs      string          `json:"funcs"`
	Values     json.RawMessage `json:"values"`
	Release    string          `json:"release"`
	Namespace  string          `json:"namespace"`
	Strict     bool            `json:"strict"`
	Repeat     int             `json:"repeat"`
	// "chart" mode.
	Files       []file   `json:"files"`
	ValueFiles  []string `json:"value_files"`
	Set         []string `json:"set"`
	SetString   []string `json:"set_string"`
	SetJSON     []string `json:"set_json"`
	KubeVersion string   `json:"kube_version"`
	APIVersions []string `json:"api_versions"`
	IncludeCRDs bool     `json:"include_crds"`
}

type hook struct {
	Path     string `json:"path"`
	Manifest string `json:"manifest"`
}

type result struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

type response struct {
	ParseError  *string           `json:"parse_error,omitempty"`
	Results     []result          `json:"results,omitempty"`
	Rendered    map[string]string `json:"rendered,omitempty"`
	Error       *string           `json:"error,omitempty"`
	NsPerRender int64             `json:"ns_per_render,omitempty"`
	Manifest    *string           `json:"manifest,omitempty"`
	Hooks       []hook            `json:"hooks,omitempty"`
	Notes       *string           `json:"notes,omitempty"`
}

func main() {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var req request
			var resp response
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				msg := "oracle: bad request: " + jerr.Error()
				resp.Error = &msg
			} else {
				resp = serve(req)
			}
			if eerr := enc.Encode(resp); eerr != nil {
				fmt.Fprintln(os.Stderr, "oracle: cannot encode a response:", eerr)
				os.Exit(1)
			}
			if ferr := out.Flush(); ferr != nil {
				os.Exit(1)
			}
		}
		if err != nil {
			return
		}
	}
}

func serve(req request) (resp response) {
	// A panic in a template function must not end the process: report it as Helm would see
	// it (Helm's engine recovers the same way).
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("rendering template failed: %v", r)
			resp = response{Error: &msg}
		}
	}()
	switch req.Mode {
	case "helm":
		return serveHelm(req)
	case "chart":
		return serveChart(req)
	default:
		return serveText(req)
	}
}

func decode(raw json.RawMessage, ints bool) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if ints {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if ints {
		v = numbers(v)
	}
	return v, nil
}

// numbers turns json.Number into int64 where integral, float64 otherwise.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

func serveText(req request) response {
	root := template.New("oracle-root")
	if req.Funcs != "none" {
		funcs := sprig.TxtFuncMap()
		delete(funcs, "env")
		delete(funcs, "expandenv")
		root.Funcs(funcs)
	}
	if req.MissingKey != "" {
		root.Option("missingkey=" + req.MissingKey)
	}
	for _, f := range req.Templates {
		if _, err := root.New(f.Name).Parse(f.Text); err != nil {
			msg := err.Error()
			return response{ParseError: &msg}
		}
	}
	data, err := decode(req.Data, req.Ints)
	if err != nil {
		msg := "oracle: bad data: " + err.Error()
		return response{Error: &msg}
	}
	results := make([]result, 0, len(req.Execute))
	for _, name := range req.Execute {
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			msg := err.Error()
			results = append(results, result{Error: &msg})
		} else {
			s := buf.String()
			results = append(results, result{Output: &s})
		}
	}
	return response{Results: results}
}

func serveHelm(req request) response {
	values, err := decode(req.Values, req.Ints)
	if err != nil {
		msg := "oracle: bad values: " + err.Error()
		return response{Error: &msg}
	}
	vals, _ := values.(map[string]any)
	if vals == nil {
		vals = map[string]any{}
	}
	c := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "oracle", Version: "0.1.0"},
	}
	for _, f := range req.Templates {
		c.Templates = append(c.Templates, &common.File{Name: "templates/" + f.Name, Data: []byte(f.Text)})
	}
	opts := common.ReleaseOptions{Name: or(req.Release, "release"), Namespace: or(req.Namespace, "default"), Revision: 1, IsInstall: true}
	top, err := util.ToRenderValues(c, vals, opts, nil)
	if err != nil {
		msg := err.Error()
		return response{Error: &msg}
	}
	e := engine.Engine{Strict: req.Strict}
	rendered, err := e.Render(c, top)
	if err != nil {
		msg := err.Error()
		return response{Error: &msg}
	}
	var ns int64
	if req.Repeat > 0 {
		start := time.Now()
		for i := 0; i < req.Repeat; i++ {
			if _, err := e.Render(c, top); err != nil {
				msg := err.Error()
				return response{Error: &msg}
			}
		}
		ns = time.Since(start).Nanoseconds() / int64(req.Repeat)
	}
	return response{Rendered: rendered, NsPerRender: ns}
}

func fail(err error) response {
	msg := err.Error()
	return response{Error: &msg}
}

func serveChart(req request) response {
	dir, err := os.MkdirTemp("", "helmoracle-chart-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "chart")
	for _, f := range req.Files {
		path := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(path, []byte(f.Text), 0o644); err != nil {
			return fail(err)
		}
	}
	opts := values.Options{Values: req.Set, StringValues: req.SetString, JSONValues: req.SetJSON}
	for i, text := range req.ValueFiles {
		path := filepath.Join(dir, fmt.Sprintf("values-%d.yaml", i))
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fail(err)
		}
		opts.ValueFiles = append(opts.ValueFiles, path)
	}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return fail(err)
	}
	chrt, err := loader.Load(root)
	if err != nil {
		return fail(err)
	}
	if chrt.Metadata.Type == "library" {
		return fail(fmt.Errorf("library charts are not installable"))
	}
	if chrt.Metadata.Dependencies != nil {
		deps := make([]ci.Dependency, len(chrt.Metadata.Dependencies))
		for i, d := range chrt.Metadata.Dependencies {
			deps[i] = d
		}
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return fail(err)
		}
	}
	client := action.NewInstall(action.NewConfiguration())
	client.DryRunStrategy = action.DryRunClient
	client.ReleaseName = or(req.Release, "release-name")
	client.Namespace = or(req.Namespace, "default")
	client.Replace = true
	client.IncludeCRDs = req.IncludeCRDs
	client.APIVersions = common.VersionSet(req.APIVersions)
	if req.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(req.KubeVersion)
		if err != nil {
			return fail(err)
		}
		client.KubeVersion = kv
	}
	r, err := client.RunWithContext(context.Background(), chrt, vals)
	if err != nil {
		return fail(err)
	}
	rel, ok := r.(*releasev1.Release)
	if !ok {
		return fail(fmt.Errorf("oracle: unexpected release type %T", r))
	}
	manifest := strings.TrimSpace(rel.Manifest)
	notes := rel.Info.Notes
	resp := response{Manifest: &manifest, Notes: &notes}
	for _, h := range rel.Hooks {
		resp.Hooks = append(resp.Hooks, hook{Path: h.Path, Manifest: h.Manifest})
	}
	return resp
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
