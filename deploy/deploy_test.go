// Package deploy_test checks the deployment files in deploy/ statically: no Docker,
// kubectl or network is needed. It reads the Dockerfile, compose.yaml, the example env
// file and the Kubernetes manifests, and compares them with what renraku actually
// reads (internal/config/config.go's variable table, go.mod's Go version).
package deploy_test

import (
	"encoding/base64"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The files under test, relative to this package's folder (go test runs in it).
const (
	dockerfile   = "Dockerfile"
	composeFile  = "compose.yaml"
	envExample   = "renraku.env.example"
	k8sDir       = "kubernetes"
	configGo     = "../internal/config/config.go"
	goMod        = "../go.mod"
	secretSample = "secret.example.yaml"
)

// configVariables reads the environment names from the variable table in
// internal/config/config.go (the first string of each entry of `var variables`).
func configVariables(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), configGo, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "variables" || len(vs.Values) != 1 {
			return true
		}
		table, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return false
		}
		for _, e := range table.Elts {
			entry, ok := e.(*ast.CompositeLit)
			if !ok || len(entry.Elts) == 0 {
				continue
			}
			lit, ok := entry.Elts[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			if s, err := strconv.Unquote(lit.Value); err == nil {
				names[s] = true
			}
		}
		return false
	})
	if len(names) < 10 || !names["DATABASE_URL"] || !names["RENRAKU_KEYSET_FILE"] {
		t.Fatalf("%s: could not read the variable table (found %v); has its shape changed?", configGo, names)
	}
	return names
}

var envName = regexp.MustCompile(`\b(RENRAKU_[A-Z0-9_]+|DATABASE_URL)\b`)

// TestSettingsExist: every RENRAKU_* name (and DATABASE_URL) written in the deployment
// files, comments included, is a setting renraku reads.
func TestSettingsExist(t *testing.T) {
	known := configVariables(t)
	files := append([]string{dockerfile, composeFile, envExample}, yamlFiles(t)...)
	for _, f := range slices.Compact(slices.Sorted(slices.Values(files))) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, name := range envName.FindAllString(line, -1) {
				if !known[name] {
					t.Errorf("%s:%d: %s is not in %s's variable table", f, i+1, name, configGo)
				}
			}
		}
	}
}

// yamlFiles lists every YAML file under deploy/.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNoCronJob: periodic work runs in the job queue inside every replica.
func TestNoCronJob(t *testing.T) {
	for _, f := range yamlFiles(t) {
		for _, d := range readYAML(t, f) {
			if str(d, "kind") == "CronJob" {
				t.Errorf("%s: a CronJob; periodic work belongs in the job queue (River), which runs in every replica", f)
			}
		}
	}
	kindCronJob := regexp.MustCompile(`(?m)^\s*-?\s*kind:\s*["']?CronJob`)
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if kindCronJob.Match(b) {
			t.Errorf("%s: defines a CronJob", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ---- Dockerfile ----

type instruction struct {
	line int
	op   string // upper case
	args string
}

type stage struct {
	from, name string
	ins        []instruction
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cont string
	contLine := 0
	for i, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSpace(raw)
		if cont == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cont != "" && strings.HasPrefix(line, "#") {
			continue
		}
		if cont == "" {
			contLine = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = cont + line
		cont = ""
		op, args, _ := strings.Cut(line, " ")
		in := instruction{line: contLine, op: strings.ToUpper(op), args: strings.TrimSpace(args)}
		if in.op == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.op != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", dockerfile, in.line, in.op)
			}
			continue
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

// goVersion is the Go version go.mod asks for: its toolchain line, else its go line.
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(goMod)
	if err != nil {
		t.Fatal(err)
	}
	var goLine, toolchain string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "go":
			goLine = f[1]
		case len(f) == 2 && f[0] == "toolchain":
			toolchain = strings.TrimPrefix(f[1], "go")
		}
	}
	if toolchain != "" {
		return toolchain
	}
	if goLine == "" {
		t.Fatalf("%s: no go line", goMod)
	}
	return goLine
}

func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%s: %d stage(s); want a build stage and a runtime stage", dockerfile, len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// Builder: the Go version of go.mod, exactly.
	wantGo := "golang:" + goVersion(t)
	if build.from != wantGo && !strings.HasPrefix(build.from, wantGo+"-") {
		t.Errorf("build stage FROM %s; want %s (go.mod) or %s-<variant>", build.from, wantGo, wantGo)
	}
	// go.mod and go.sum are copied (and modules downloaded) before the sources.
	modCopy, srcCopy, download, buildCmd := -1, -1, -1, -1
	for i, in := range build.ins {
		switch {
		case in.op == "COPY" && strings.Contains(in.args, "go.mod") && strings.Contains(in.args, "go.sum"):
			modCopy = i
		case in.op == "COPY" && strings.HasPrefix(in.args, ". ") && srcCopy < 0:
			srcCopy = i
		case in.op == "RUN" && strings.Contains(in.args, "go mod download"):
			download = i
		case in.op == "RUN" && strings.Contains(in.args, "go build"):
			buildCmd = i
			for _, want := range []string{"-trimpath", "-s", "-o /renraku", "./cmd/renraku"} {
				if !strings.Contains(in.args, want) {
					t.Errorf("%s:%d: go build without %s", dockerfile, in.line, want)
				}
			}
		}
	}
	if modCopy < 0 || srcCopy < 0 || download < 0 || buildCmd < 0 || !(modCopy < download && download < srcCopy && srcCopy < buildCmd) {
		t.Errorf("build stage: want COPY go.mod go.sum, RUN go mod download, COPY . ., RUN go build in that order")
	}
	if !stageHas(build, "CGO_ENABLED=0") {
		t.Errorf("build stage: CGO_ENABLED=0 not set (the runtime image has no libc)")
	}

	// Runtime: distroless static, non-root, only the binary.
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s; want gcr.io/distroless/static-…", final.from)
	}
	if !strings.HasSuffix(final.from, ":nonroot") {
		t.Errorf("final stage FROM %s; want the :nonroot tag", final.from)
	}
	user := ""
	for _, in := range final.ins {
		switch in.op {
		case "USER":
			user = in.args
		case "COPY":
			// The built binary, and the Japanese font (with its licence) certificates
			// are printed with; nothing else.
			fromBuild := strings.Contains(in.args, "--from="+build.name) && build.name != ""
			font := strings.Contains(in.args, "--from=fonts ") && strings.Contains(in.args, "ipafont-gothic")
			if !fromBuild && !font {
				t.Errorf("%s:%d: the final stage copies something other than the binary and the font: COPY %s", dockerfile, in.line, in.args)
			}
		case "RUN", "ADD":
			t.Errorf("%s:%d: %s in the final stage (distroless has no shell)", dockerfile, in.line, in.op)
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u != "nonroot" && u != "65532" {
		t.Errorf("final stage USER %q; want nonroot (uid 65532)", user)
	}
	if ep := lastArgs(final, "ENTRYPOINT"); ep != `["/renraku"]` {
		t.Errorf("ENTRYPOINT %s; want [\"/renraku\"]", ep)
	}
	if cmd := lastArgs(final, "CMD"); cmd != `["serve"]` {
		t.Errorf("CMD %s; want [\"serve\"]", cmd)
	}
	if !stageHas(final, "RENRAKU_ADDR=0.0.0.0:") {
		t.Errorf("final stage: RENRAKU_ADDR must listen on all interfaces in a container (the default is 127.0.0.1)")
	}

	// The Dockerfile-specific ignore file keeps the dev mode's keys out of the context.
	ig, err := os.ReadFile(dockerfile + ".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".data", "deploy/renraku.env", "deploy/keys", ".git"} {
		if !slices.Contains(strings.Fields(string(ig)), want) {
			t.Errorf("%s.dockerignore does not exclude %s", dockerfile, want)
		}
	}
}

func stageHas(s stage, text string) bool {
	for _, in := range s.ins {
		if (in.op == "ENV" || in.op == "RUN" || in.op == "ARG") && strings.Contains(in.args, text) {
			return true
		}
	}
	return false
}

func lastArgs(s stage, op string) string {
	v := ""
	for _, in := range s.ins {
		if in.op == op {
			v = in.args
		}
	}
	return v
}

// ---- Kubernetes ----

type manifests struct {
	byKind map[string][]any
	files  map[string][]any // file name → documents
}

func readManifests(t *testing.T) manifests {
	t.Helper()
	ms := manifests{byKind: map[string][]any{}, files: map[string][]any{}}
	entries, err := os.ReadDir(k8sDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		docs := readYAML(t, filepath.Join(k8sDir, e.Name()))
		ms.files[e.Name()] = docs
		if e.Name() == secretSample {
			continue
		}
		for _, d := range docs {
			ms.byKind[str(d, "kind")] = append(ms.byKind[str(d, "kind")], d)
		}
	}
	return ms
}

func (ms manifests) one(t *testing.T, kind string) any {
	t.Helper()
	if n := len(ms.byKind[kind]); n != 1 {
		t.Fatalf("%s: %d %s manifests; want 1", k8sDir, n, kind)
	}
	return ms.byKind[kind][0]
}

func TestKustomization(t *testing.T) {
	ms := readManifests(t)
	k := ms.one(t, "Kustomization")
	if ns := str(k, "namespace"); ns != "" {
		t.Errorf("kustomization.yaml sets namespace %q; leave it to overlays", ns)
	}
	res := strs(k, "resources")
	for name := range ms.files {
		listed := slices.Contains(res, name)
		switch name {
		case "kustomization.yaml":
		case secretSample:
			if listed {
				t.Errorf("kustomization.yaml lists %s; the example must never be applied", secretSample)
			}
		default:
			if !listed {
				t.Errorf("kustomization.yaml does not list %s", name)
			}
		}
	}
	for _, r := range res {
		if _, ok := ms.files[r]; !ok {
			t.Errorf("kustomization.yaml lists %s, which is not in %s", r, k8sDir)
		}
	}
	// No manifest pins a namespace.
	for name, docs := range ms.files {
		for _, d := range docs {
			if ns := str(d, "metadata", "namespace"); ns != "" {
				t.Errorf("%s: %s %s sets namespace %q", name, str(d, "kind"), str(d, "metadata", "name"), ns)
			}
		}
	}
	// The image placeholder in the Deployment is the one kustomize replaces.
	dep := ms.one(t, "Deployment")
	var images []string
	for _, im := range seqAt(k, "images") {
		images = append(images, str(im, "name"))
	}
	for _, c := range allContainers(dep) {
		if !slices.Contains(images, str(c, "image")) {
			t.Errorf("container %s: image %q is not set by kustomization.yaml's images", str(c, "name"), str(c, "image"))
		}
	}
}

func allContainers(dep any) []any {
	spec := at(dep, "spec", "template", "spec")
	return append(slices.Clone(seqAt(spec, "initContainers")), seqAt(spec, "containers")...)
}

// mainContainer is the container that runs `renraku serve`.
func mainContainer(t *testing.T, dep any) any {
	t.Helper()
	var found []any
	for _, c := range seqAt(dep, "spec", "template", "spec", "containers") {
		if slices.Equal(append(strs(c, "command"), strs(c, "args")...), []string{"serve"}) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Deployment: %d containers run `serve`; want 1", len(found))
	}
	return found[0]
}

func envOf(c any) map[string]any {
	m := map[string]any{}
	for _, e := range seqAt(c, "env") {
		m[str(e, "name")] = e
	}
	return m
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	if host != "0.0.0.0" && host != "" {
		t.Errorf("address %q: a container must listen on all interfaces", addr)
	}
	return port
}

func isTrue(v string) bool { return v == "true" }

func TestDeployment(t *testing.T) {
	ms := readManifests(t)
	dep := ms.one(t, "Deployment")
	spec := at(dep, "spec")
	pod := at(spec, "template", "spec")

	replicas, err := strconv.Atoi(str(spec, "replicas"))
	if err != nil || replicas < 2 {
		t.Errorf("replicas %q; want 2 or more", str(spec, "replicas"))
	}
	sel := mapAt(spec, "selector", "matchLabels")
	labels := mapAt(spec, "template", "metadata", "labels")
	if len(sel) == 0 || !subset(sel, labels) {
		t.Fatalf("selector %v does not select the pod labels %v", sel, labels)
	}

	// Pod-level hardening.
	if str(pod, "automountServiceAccountToken") != "false" {
		t.Errorf("automountServiceAccountToken %q; want false", str(pod, "automountServiceAccountToken"))
	}
	if str(pod, "enableServiceLinks") != "false" {
		t.Errorf("enableServiceLinks not false: the Service named renraku would inject RENRAKU_SERVICE_HOST, RENRAKU_PORT, … into the settings' namespace")
	}
	if uid := str(pod, "securityContext", "runAsUser"); uid == "" || uid == "0" {
		t.Errorf("pod runAsUser %q; want the numeric non-root uid (65532)", uid)
	}
	for _, c := range allContainers(dep) {
		name := str(c, "name")
		sc := func(key ...any) string {
			if v := str(c, append([]any{"securityContext"}, key...)...); v != "" {
				return v
			}
			return str(pod, append([]any{"securityContext"}, key...)...)
		}
		if !isTrue(sc("runAsNonRoot")) {
			t.Errorf("container %s: runAsNonRoot not true", name)
		}
		if sc("seccompProfile", "type") != "RuntimeDefault" {
			t.Errorf("container %s: seccompProfile not RuntimeDefault", name)
		}
		if !isTrue(str(c, "securityContext", "readOnlyRootFilesystem")) {
			t.Errorf("container %s: readOnlyRootFilesystem not true", name)
		}
		if str(c, "securityContext", "allowPrivilegeEscalation") != "false" {
			t.Errorf("container %s: allowPrivilegeEscalation not false", name)
		}
		if isTrue(str(c, "securityContext", "privileged")) {
			t.Errorf("container %s: privileged", name)
		}
		if !slices.Contains(strs(c, "securityContext", "capabilities", "drop"), "ALL") {
			t.Errorf("container %s: capabilities do not drop ALL", name)
		}
		if len(seqAt(c, "securityContext", "capabilities", "add")) > 0 {
			t.Errorf("container %s: adds capabilities", name)
		}
		for _, r := range []string{"requests/cpu", "requests/memory", "limits/memory"} {
			a, b, _ := strings.Cut(r, "/")
			if str(c, "resources", a, b) == "" {
				t.Errorf("container %s: no resources.%s.%s", name, a, b)
			}
		}
		// Secrets come from Secrets, never as literal values.
		for _, secret := range []string{"DATABASE_URL", "RENRAKU_MASTER_KEY"} {
			if e, ok := envOf(c)[secret]; ok && (str(e, "value") != "" || mapAt(e, "valueFrom", "secretKeyRef") == nil) {
				t.Errorf("container %s: %s must come from a Secret (valueFrom.secretKeyRef)", name, secret)
			}
		}
	}

	// The server: ports, probes, keyset, /tmp, shutdown.
	c := mainContainer(t, dep)
	env := envOf(c)
	ports := map[string]string{} // name → containerPort
	for _, p := range seqAt(c, "ports") {
		ports[str(p, "name")] = str(p, "containerPort")
	}
	httpPort := portOf(t, str(env["RENRAKU_ADDR"], "value"))
	if ports["http"] != httpPort {
		t.Errorf("port http is %q; RENRAKU_ADDR listens on %s", ports["http"], httpPort)
	}
	metricsPort := portOf(t, str(env["RENRAKU_METRICS_ADDR"], "value"))
	if ports["metrics"] != metricsPort {
		t.Errorf("port metrics is %q; RENRAKU_METRICS_ADDR listens on %s", ports["metrics"], metricsPort)
	}
	if p := str(spec, "template", "metadata", "annotations", "prometheus.io/port"); p != "" && p != metricsPort {
		t.Errorf("annotation prometheus.io/port %s; the metrics port is %s", p, metricsPort)
	}
	resolve := func(p string) string {
		if n, ok := ports[p]; ok {
			return n
		}
		return p
	}
	for _, pr := range []struct{ probe, path string }{
		{"readinessProbe", "/readyz"},
		{"livenessProbe", "/healthz"},
	} {
		if got := str(c, pr.probe, "httpGet", "path"); got != pr.path {
			t.Errorf("%s path %q; want %s", pr.probe, got, pr.path)
		}
		if got := resolve(str(c, pr.probe, "httpGet", "port")); got != httpPort {
			t.Errorf("%s port %q; want the app port %s", pr.probe, got, httpPort)
		}
	}
	if sp := at(c, "startupProbe"); sp != nil && str(sp, "httpGet", "path") != "/healthz" {
		t.Errorf("startupProbe path %q; want /healthz (the process is up; /readyz is readiness)", str(sp, "httpGet", "path"))
	}

	volumes := map[string]any{}
	for _, v := range seqAt(pod, "volumes") {
		volumes[str(v, "name")] = v
	}
	mounts := map[string]any{} // mountPath → mount
	for _, m := range seqAt(c, "volumeMounts") {
		mounts[str(m, "mountPath")] = m
	}
	keyset := str(env["RENRAKU_KEYSET_FILE"], "value")
	if keyset == "" || !path.IsAbs(keyset) {
		t.Fatalf("RENRAKU_KEYSET_FILE %q; want an absolute path", keyset)
	}
	km, ok := mounts[path.Dir(keyset)]
	if !ok {
		t.Fatalf("no volume mounted at %s for RENRAKU_KEYSET_FILE", path.Dir(keyset))
	}
	if str(km, "readOnly") != "true" {
		t.Errorf("the keyset mount is not readOnly")
	}
	if str(km, "subPath") != "" {
		t.Errorf("the keyset is mounted with subPath: a rotated keyset would never reach the pod")
	}
	keysetSecret := str(volumes[str(km, "name")], "secret", "secretName")
	if keysetSecret == "" {
		t.Fatalf("the keyset volume %q is not a Secret", str(km, "name"))
	}
	if tm, ok := mounts["/tmp"]; !ok || at(volumes[str(tm, "name")], "emptyDir") == nil {
		t.Errorf("no emptyDir at /tmp: with a read-only root, large multipart uploads cannot spill to temporary files")
	}
	if dir := str(env["RENRAKU_FILES_DIR"], "value"); dir != "" {
		if _, ok := mounts[dir]; !ok {
			t.Errorf("RENRAKU_FILES_DIR %s is not a mounted volume", dir)
		}
	}

	shutdown := 15 * time.Second
	if v := str(env["RENRAKU_SHUTDOWN_TIMEOUT"], "value"); v != "" {
		if shutdown, err = time.ParseDuration(v); err != nil {
			t.Fatalf("RENRAKU_SHUTDOWN_TIMEOUT %q: %v", v, err)
		}
	}
	preStop := 0
	if s := str(c, "lifecycle", "preStop", "sleep", "seconds"); s != "" {
		if preStop, err = strconv.Atoi(s); err != nil {
			t.Fatalf("preStop sleep seconds %q: %v", s, err)
		}
	}
	grace, err := strconv.Atoi(str(pod, "terminationGracePeriodSeconds"))
	if err != nil || time.Duration(grace)*time.Second <= shutdown+time.Duration(preStop)*time.Second {
		t.Errorf("terminationGracePeriodSeconds %q; want more than RENRAKU_SHUTDOWN_TIMEOUT (%v) plus the preStop sleep (%ds)",
			str(pod, "terminationGracePeriodSeconds"), shutdown, preStop)
	}
	if v := str(env["GOMEMLIMIT"], "value"); v != "" {
		if lim, max := quantityMiB(t, v), quantityMiB(t, str(c, "resources", "limits", "memory")); lim >= max {
			t.Errorf("GOMEMLIMIT %s is not below limits.memory %s", v, str(c, "resources", "limits", "memory"))
		}
	}

	// Replicas spread over nodes.
	spread := false
	for _, tsc := range seqAt(pod, "topologySpreadConstraints") {
		if str(tsc, "topologyKey") == "kubernetes.io/hostname" && subset(mapAt(tsc, "labelSelector", "matchLabels"), labels) {
			spread = true
		}
	}
	if at(pod, "affinity", "podAntiAffinity") != nil {
		spread = true
	}
	if !spread {
		t.Errorf("no topologySpreadConstraints over kubernetes.io/hostname (or podAntiAffinity) selecting the pods")
	}

	// Migrations before the server, with the same image.
	var migrate any
	for _, ic := range seqAt(pod, "initContainers") {
		if slices.Equal(append(strs(ic, "command"), strs(ic, "args")...), []string{"migrate", "up"}) {
			migrate = ic
		}
	}
	if migrate == nil {
		t.Fatalf("no init container runs `migrate up` (serve refuses a schema that is behind)")
	}
	if str(migrate, "image") != str(c, "image") {
		t.Errorf("the migrate init container's image %q differs from the server's %q", str(migrate, "image"), str(c, "image"))
	}
	// Roles: migrations as the schema's owner, the server as a member of renraku_app,
	// never with the owner's credentials (it could cut the audit log).
	migEnv := envOf(migrate)
	if _, ok := migEnv["RENRAKU_OWNER_DATABASE_URL"]; !ok {
		t.Errorf("the migrate init container has no RENRAKU_OWNER_DATABASE_URL (migrations run as the schema's owner)")
	}
	if _, ok := env["RENRAKU_OWNER_DATABASE_URL"]; ok {
		t.Errorf("the server container has RENRAKU_OWNER_DATABASE_URL: it must not hold the owner's credentials")
	}
	ownerSecret := str(migEnv["RENRAKU_OWNER_DATABASE_URL"], "valueFrom", "secretKeyRef", "name")
	for _, e := range env {
		if ownerSecret != "" && str(e, "valueFrom", "secretKeyRef", "name") == ownerSecret {
			t.Errorf("the server container reads the owner's Secret %s", ownerSecret)
		}
	}
	if _, ok := env["RENRAKU_ALLOW_OWNER_ROLE"]; ok {
		t.Errorf("the server container sets RENRAKU_ALLOW_OWNER_ROLE")
	}

	// Every Secret the pod uses is described, with its keys, in secret.example.yaml.
	examples := map[string]map[string]any{}
	for _, d := range ms.files[secretSample] {
		examples[str(d, "metadata", "name")] = mapAt(d, "stringData")
	}
	for _, ct := range allContainers(dep) {
		for _, e := range seqAt(ct, "env") {
			ref := mapAt(e, "valueFrom", "secretKeyRef")
			if ref == nil {
				continue
			}
			name, key := str(ref, "name"), str(ref, "key")
			if _, ok := examples[name][key]; !ok {
				t.Errorf("container %s: Secret %s key %s is not in %s", str(ct, "name"), name, key, secretSample)
			}
		}
	}
	if _, ok := examples[keysetSecret][path.Base(keyset)]; !ok {
		t.Errorf("the keyset Secret %s has no key %s in %s (RENRAKU_KEYSET_FILE is %s)", keysetSecret, path.Base(keyset), secretSample, keyset)
	}
}

func subset(small, big map[string]any) bool {
	if len(small) == 0 {
		return false
	}
	for k, v := range small {
		if b, ok := big[k]; !ok || b != v {
			return false
		}
	}
	return true
}

// quantityMiB reads "640MiB" (GOMEMLIMIT) or "768Mi"/"1Gi" (Kubernetes) as MiB.
func quantityMiB(t *testing.T, q string) int {
	t.Helper()
	for suffix, mul := range map[string]int{"MiB": 1, "GiB": 1024, "Mi": 1, "Gi": 1024} {
		if n, err := strconv.Atoi(strings.TrimSuffix(q, suffix)); err == nil && strings.HasSuffix(q, suffix) {
			return n * mul
		}
	}
	t.Fatalf("quantity %q: want a whole number of Mi/Gi (MiB/GiB)", q)
	return 0
}

func TestServices(t *testing.T) {
	ms := readManifests(t)
	dep := ms.one(t, "Deployment")
	labels := mapAt(dep, "spec", "template", "metadata", "labels")
	ports := map[string]string{}
	for _, p := range seqAt(mainContainer(t, dep), "ports") {
		ports[str(p, "name")] = str(p, "containerPort")
		ports[str(p, "containerPort")] = str(p, "containerPort")
	}
	web := 0
	for _, svc := range ms.byKind["Service"] {
		name := str(svc, "metadata", "name")
		if !subset(mapAt(svc, "spec", "selector"), labels) {
			t.Errorf("Service %s does not select the renraku pods", name)
		}
		exposes := map[string]bool{}
		for _, p := range seqAt(svc, "spec", "ports") {
			target := str(p, "targetPort")
			if target == "" {
				target = str(p, "port")
			}
			n, ok := ports[target]
			if !ok {
				t.Errorf("Service %s: targetPort %s is not a container port", name, target)
			}
			exposes[n] = true
		}
		if exposes[ports["metrics"]] {
			if exposes[ports["http"]] {
				t.Errorf("Service %s exposes the web and the metrics port together; keep /metrics off the ingress's Service", name)
			}
			if typ := str(svc, "spec", "type"); typ != "" && typ != "ClusterIP" {
				t.Errorf("Service %s exposes metrics as %s; want ClusterIP", name, typ)
			}
		}
		if exposes[ports["http"]] {
			web++
		}
	}
	if web == 0 {
		t.Errorf("no Service exposes the web port")
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	ms := readManifests(t)
	dep := ms.one(t, "Deployment")
	pdb := ms.one(t, "PodDisruptionBudget")
	if v := str(pdb, "apiVersion"); v != "policy/v1" {
		t.Errorf("PodDisruptionBudget apiVersion %s; want policy/v1", v)
	}
	sel, depSel := mapAt(pdb, "spec", "selector", "matchLabels"), mapAt(dep, "spec", "selector", "matchLabels")
	if !subset(sel, depSel) || !subset(depSel, sel) {
		t.Errorf("PodDisruptionBudget selects %v; the Deployment's selector is %v", sel, depSel)
	}
	replicas, err := strconv.Atoi(str(dep, "spec", "replicas"))
	if err != nil {
		t.Fatalf("Deployment replicas %q: %v", str(dep, "spec", "replicas"), err)
	}
	minA, maxU := str(pdb, "spec", "minAvailable"), str(pdb, "spec", "maxUnavailable")
	switch {
	case (minA == "") == (maxU == ""):
		t.Errorf("PodDisruptionBudget: set exactly one of minAvailable and maxUnavailable")
	case minA != "":
		if n, err := strconv.Atoi(minA); err != nil || n < 1 || n >= replicas {
			t.Errorf("minAvailable %s; want 1 to replicas-1 (%d), or nodes can never be drained", minA, replicas-1)
		}
	default:
		if n, err := strconv.Atoi(maxU); err != nil || n < 1 || replicas-n < 1 {
			t.Errorf("maxUnavailable %s; want at least 1 and fewer than replicas (%d)", maxU, replicas)
		}
	}
}

func TestSecretExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(k8sDir, secretSample))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.SplitN(string(b), "\n", 2)[0], "EXAMPLE") {
		t.Errorf("%s: the first line must say EXAMPLE", secretSample)
	}
	docs := readYAML(t, filepath.Join(k8sDir, secretSample))
	if len(docs) == 0 {
		t.Fatalf("%s: no documents", secretSample)
	}
	for _, d := range docs {
		name := str(d, "metadata", "name")
		if str(d, "kind") != "Secret" {
			t.Errorf("%s: %s is a %s; only Secrets belong here", secretSample, name, str(d, "kind"))
		}
		if at(d, "data") != nil {
			t.Errorf("%s: Secret %s has data; use stringData placeholders only (base64 hides real values)", secretSample, name)
		}
		for k, v := range mapAt(d, "stringData") {
			s, _ := v.(string)
			if !strings.Contains(s, "REPLACE_ME") {
				t.Errorf("%s: Secret %s key %s is not a REPLACE_ME placeholder", secretSample, name, k)
			}
			if looksLikeMasterKey(s) {
				t.Errorf("%s: Secret %s key %s looks like a real master key", secretSample, name, k)
			}
		}
	}
}

func looksLikeMasterKey(s string) bool {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	return err == nil && len(b) == 32
}

// ---- compose ----

func TestCompose(t *testing.T) {
	docs := readYAML(t, composeFile)
	if len(docs) != 1 {
		t.Fatalf("%s: %d documents; want 1", composeFile, len(docs))
	}
	services := mapAt(docs[0], "services")
	for _, want := range []string{"postgres", "migrate", "renraku"} {
		if services[want] == nil {
			t.Fatalf("%s: no service %s", composeFile, want)
		}
	}
	pg, mig, app := services["postgres"], services["migrate"], services["renraku"]

	if img := str(pg, "image"); img != "postgres:15" && !strings.HasPrefix(img, "postgres:15.") && !strings.HasPrefix(img, "postgres:15-") {
		t.Errorf("postgres image %q; want postgres:15", img)
	}
	if len(strs(pg, "healthcheck", "test")) == 0 {
		t.Errorf("postgres has no healthcheck")
	}
	named := mapAt(docs[0], "volumes")
	dataVolume := false
	for _, v := range strs(pg, "volumes") {
		src, dst, _ := strings.Cut(v, ":")
		if _, ok := named[src]; ok && strings.HasPrefix(dst, "/var/lib/postgresql/data") {
			dataVolume = true
		}
	}
	if !dataVolume {
		t.Errorf("postgres keeps its data in no named volume")
	}
	if len(seqAt(pg, "ports")) > 0 {
		t.Errorf("postgres publishes a port; the services reach it on the compose network")
	}

	for name, svc := range map[string]any{"migrate": mig, "renraku": app} {
		if str(svc, "build", "context") != ".." || str(svc, "build", "dockerfile") != "deploy/Dockerfile" {
			t.Errorf("%s: build from context .. with deploy/Dockerfile", name)
		}
		if str(svc, "read_only") != "true" {
			t.Errorf("%s: read_only not true", name)
		}
		if u, _, _ := strings.Cut(str(svc, "user"), ":"); u == "" || u == "0" || u == "root" {
			t.Errorf("%s: user %q; want 65532", name, str(svc, "user"))
		}
		if !slices.Contains(strs(svc, "cap_drop"), "ALL") {
			t.Errorf("%s: cap_drop does not contain ALL", name)
		}
		if !slices.Contains(strs(svc, "security_opt"), "no-new-privileges:true") {
			t.Errorf("%s: no no-new-privileges", name)
		}
		if !strings.Contains(str(svc, "environment", "DATABASE_URL"), "@postgres:") {
			t.Errorf("%s: DATABASE_URL does not point at the postgres service", name)
		}
		if str(svc, "depends_on", "postgres", "condition") != "service_healthy" {
			t.Errorf("%s: does not wait for postgres to be healthy", name)
		}
	}
	if got := strs(mig, "command"); !slices.Equal(got, []string{"migrate", "up"}) {
		t.Errorf("migrate: command %v; want [migrate up]", got)
	}
	// Roles: migrate as the schema's owner (POSTGRES_USER), serve as another login.
	userOf := func(dbURL string) string {
		u, _, _ := strings.Cut(strings.TrimPrefix(dbURL, "postgres://"), ":")
		return u
	}
	owner := str(pg, "environment", "POSTGRES_USER")
	if got := userOf(str(mig, "environment", "DATABASE_URL")); got != owner {
		t.Errorf("migrate connects as %q; want the owner %q", got, owner)
	}
	if got := userOf(str(app, "environment", "DATABASE_URL")); got == owner || got == "" {
		t.Errorf("renraku connects as %q, the schema's owner: it could cut the audit log", got)
	}
	if v, ok := mapAt(app, "environment")["POSTGRES_PASSWORD"]; !ok || v != "" {
		t.Errorf("renraku: POSTGRES_PASSWORD (the owner's, from renraku.env) is not blanked in its environment")
	}
	initFolder := false
	for _, v := range strs(pg, "volumes") {
		src, dst, _ := strings.Cut(v, ":")
		if strings.HasPrefix(dst, "/docker-entrypoint-initdb.d") {
			if _, err := os.Stat(src); err == nil {
				initFolder = true
			}
		}
	}
	if !initFolder {
		t.Errorf("postgres: no init folder creating the server's role mounted at /docker-entrypoint-initdb.d")
	}
	if got := strs(app, "command"); len(got) > 0 && !slices.Equal(got, []string{"serve"}) {
		t.Errorf("renraku: command %v; want [serve]", got)
	}
	if str(app, "depends_on", "migrate", "condition") != "service_completed_successfully" {
		t.Errorf("renraku: does not wait for migrate to complete successfully")
	}
	if !slices.Contains(strs(app, "env_file"), "renraku.env") {
		t.Errorf("renraku: secrets do not come from env_file renraku.env")
	}
	if !slices.Contains(strs(app, "tmpfs"), "/tmp") {
		t.Errorf("renraku: no tmpfs at /tmp (large multipart uploads spill to temporary files)")
	}
	env := mapAt(app, "environment")
	metricsPort := portOf(t, str(env, "RENRAKU_METRICS_ADDR"))
	appPort := portOf(t, str(env, "RENRAKU_ADDR"))
	published := false
	for _, p := range strs(app, "ports") {
		f := strings.Split(p, ":")
		switch container := f[len(f)-1]; container {
		case metricsPort:
			t.Errorf("renraku publishes the metrics port (%s)", p)
		case appPort:
			published = true
		}
	}
	if !published {
		t.Errorf("renraku does not publish its web port %s", appPort)
	}
	keyset := str(env, "RENRAKU_KEYSET_FILE")
	mounted := false
	for _, v := range strs(app, "volumes") {
		f := strings.Split(v, ":")
		if len(f) >= 2 && f[1] == path.Dir(keyset) {
			mounted = true
			if len(f) != 3 || !strings.Contains(f[2], "ro") {
				t.Errorf("renraku: the keyset folder %s is not mounted read-only", v)
			}
		}
	}
	if keyset == "" || !mounted {
		t.Errorf("renraku: RENRAKU_KEYSET_FILE %q is not in a mounted folder", keyset)
	}
	if grace, err := time.ParseDuration(str(app, "stop_grace_period")); err != nil || grace <= 15*time.Second {
		t.Errorf("renraku: stop_grace_period %q; want more than RENRAKU_SHUTDOWN_TIMEOUT (15s)", str(app, "stop_grace_period"))
	}
	if len(named) == 0 {
		t.Errorf("%s: no named volumes", composeFile)
	}
}

func TestEnvExample(t *testing.T) {
	known := configVariables(t)
	b, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s:%d: not NAME=value", envExample, i+1)
			continue
		}
		seen[name] = true
		if !known[name] && name != "POSTGRES_PASSWORD" && name != "POSTGRES_APP_PASSWORD" {
			t.Errorf("%s:%d: %s is not a renraku setting", envExample, i+1, name)
		}
		if looksLikeMasterKey(val) {
			t.Errorf("%s:%d: %s holds what looks like a real key; placeholders only", envExample, i+1, name)
		}
		if (name == "RENRAKU_MASTER_KEY" || name == "POSTGRES_PASSWORD" || name == "POSTGRES_APP_PASSWORD") && val != "REPLACE_ME" {
			t.Errorf("%s:%d: %s must be the placeholder REPLACE_ME", envExample, i+1, name)
		}
	}
	for _, want := range []string{"POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD", "RENRAKU_MASTER_KEY", "RENRAKU_BASE_URL"} {
		if !seen[want] {
			t.Errorf("%s: no %s", envExample, want)
		}
	}
	ig, err := os.ReadFile(".gitignore")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(ig)), "renraku.env") {
		t.Errorf("deploy/.gitignore does not list renraku.env")
	}
}

// ---- YAML subset ----

// A strict reader for the subset of YAML that the files in deploy/ use: block mappings,
// block sequences (also "- key: value" items), plain, 'single' and "double" quoted
// scalars, flow sequences of scalars ([a, "b"]), the empty flow mapping {}, comments,
// and documents separated by ---. Scalars stay strings. Anything else (anchors, tags,
// block scalars, nested flow collections, tabs in indentation) is an error naming the
// line, so a file that goes beyond the subset fails loudly instead of being misread.
//
// It exists because the YAML module in go.sum is not a requirement in go.mod, and this
// test must not change go.mod.

type yamlLine struct {
	n      int // 1-based line number in the file
	indent int
	text   string // without indentation and comment
}

type yamlParser struct {
	name  string
	lines []yamlLine
	i     int
}

// readYAML parses every document in path; it fails the test on a syntax error.
func readYAML(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseYAML(path, string(b))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func parseYAML(name, src string) ([]any, error) {
	var docs []any
	var cur []yamlLine
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := &yamlParser{name: name, lines: cur}
		v, err := p.node()
		if err != nil {
			return err
		}
		if p.i < len(p.lines) {
			return p.errorf(p.lines[p.i], "unexpected indentation or structure")
		}
		docs = append(docs, v)
		cur = nil
		return nil
	}
	for n, raw := range strings.Split(src, "\n") {
		raw = strings.TrimRight(raw, "\r")
		if raw == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		body := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(body, "\t") {
			return nil, fmt.Errorf("%s:%d: tab in indentation", name, n+1)
		}
		text := strings.TrimRight(stripComment(body), " \t")
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "%") || text == "..." {
			return nil, fmt.Errorf("%s:%d: directives and document end markers are outside the subset", name, n+1)
		}
		cur = append(cur, yamlLine{n: n + 1, indent: len(raw) - len(body), text: text})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment removes a # comment that starts the line or follows a blank, outside
// quotes.
func stripComment(s string) string {
	var single, double bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case double && c == '\\':
			i++
		case c == '"' && !single:
			double = !double
		case c == '\'' && !double:
			single = !single
		case c == '#' && !single && !double && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

func (p *yamlParser) errorf(l yamlLine, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.name, l.n, fmt.Sprintf(format, args...))
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// node parses the block that starts at the current line.
func (p *yamlParser) node() (any, error) {
	l := p.lines[p.i]
	if isSeqItem(l.text) {
		return p.seq(l.indent)
	}
	if _, _, ok, err := splitKey(l.text); err != nil {
		return nil, p.errorf(l, "%v", err)
	} else if !ok {
		// A lone scalar as a block's value (e.g. a plain string on its own line).
		v, err := scalar(l.text)
		if err != nil {
			return nil, p.errorf(l, "%v", err)
		}
		p.i++
		return v, nil
	}
	return p.mapping(l.indent)
}

func (p *yamlParser) seq(indent int) (any, error) {
	out := []any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent || (l.indent == indent && !isSeqItem(l.text)) {
			break
		}
		if l.indent > indent {
			return nil, p.errorf(l, "unexpected indentation in a sequence")
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		if rest == "" {
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				v, err := p.node()
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			} else {
				out = append(out, nil)
			}
			continue
		}
		_, _, isKey, err := splitKey(rest)
		if err != nil {
			return nil, p.errorf(l, "%v", err)
		}
		if isKey || isSeqItem(rest) {
			// "- key: value": a mapping whose first line starts after the dash.
			p.lines[p.i] = yamlLine{n: l.n, indent: indent + len(l.text) - len(rest), text: rest}
			v, err := p.node()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		v, err := scalar(rest)
		if err != nil {
			return nil, p.errorf(l, "%v", err)
		}
		out = append(out, v)
		p.i++
	}
	return out, nil
}

func (p *yamlParser) mapping(indent int) (any, error) {
	m := map[string]any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent || (l.indent == indent && isSeqItem(l.text)) {
			break
		}
		if l.indent > indent {
			return nil, p.errorf(l, "unexpected indentation in a mapping")
		}
		key, val, ok, err := splitKey(l.text)
		if err != nil {
			return nil, p.errorf(l, "%v", err)
		}
		if !ok {
			return nil, p.errorf(l, "expected key: value")
		}
		if _, dup := m[key]; dup {
			return nil, p.errorf(l, "duplicate key %q", key)
		}
		p.i++
		var v any
		switch {
		case val != "":
			v, err = scalar(val)
			if err != nil {
				return nil, p.errorf(l, "%v", err)
			}
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			v, err = p.node()
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text):
			v, err = p.seq(indent)
		}
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	return m, nil
}

// splitKey splits "key: value" (or "key:"). ok is false when text is not a mapping
// entry, e.g. a plain or quoted scalar.
func splitKey(text string) (key, val string, ok bool, err error) {
	if text[0] == '"' || text[0] == '\'' {
		end := closingQuote(text)
		if end < 0 {
			return "", "", false, fmt.Errorf("unterminated quoted string")
		}
		after := text[end+1:]
		if after != ":" && !strings.HasPrefix(after, ": ") {
			return "", "", false, nil
		}
		k, err := scalar(text[:end+1])
		if err != nil {
			return "", "", false, err
		}
		return k.(string), strings.TrimSpace(after[1:]), true, nil
	}
	if strings.ContainsRune("[{&*!|>@`", rune(text[0])) {
		return "", "", false, nil
	}
	i := strings.Index(text, ": ")
	if i < 0 {
		if !strings.HasSuffix(text, ":") {
			return "", "", false, nil
		}
		i = len(text) - 1
	}
	return strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+1:]), true, nil
}

// closingQuote returns the index of the quote that closes the string starting at s[0].
func closingQuote(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case q == '\'' && s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

func scalar(s string) (any, error) {
	switch s[0] {
	case '"':
		if closingQuote(s) != len(s)-1 {
			return nil, fmt.Errorf("text after a quoted string: %s", s)
		}
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("double-quoted string: %v", err)
		}
		return v, nil
	case '\'':
		if closingQuote(s) != len(s)-1 {
			return nil, fmt.Errorf("text after a quoted string: %s", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case '[':
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("a flow sequence must fit on one line: %s", s)
		}
		return flowSeq(s[1 : len(s)-1])
	case '{':
		if strings.TrimSpace(s[1:len(s)-1]) != "" || !strings.HasSuffix(s, "}") {
			return nil, fmt.Errorf("only the empty flow mapping {} is in the subset: %s", s)
		}
		return map[string]any{}, nil
	case '&', '*', '!':
		return nil, fmt.Errorf("anchors, aliases and tags are outside the subset: %s", s)
	case '|', '>':
		return nil, fmt.Errorf("block scalars are outside the subset: %s", s)
	}
	if strings.Contains(s, ": ") {
		return nil, fmt.Errorf("a plain scalar cannot contain \": \" (quote it): %s", s)
	}
	return s, nil
}

func flowSeq(s string) (any, error) {
	out := []any{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	start := 0
	var single, double bool
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch {
			case double && c == '\\':
				i++
				continue
			case c == '"' && !single:
				double = !double
			case c == '\'' && !double:
				single = !single
			case (c == '[' || c == '{') && !single && !double:
				return nil, fmt.Errorf("nested flow collections are outside the subset")
			}
			if c != ',' || single || double {
				continue
			}
		}
		item := strings.TrimSpace(s[start:i])
		if item == "" {
			return nil, fmt.Errorf("empty item in a flow sequence")
		}
		v, err := scalar(item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		start = i + 1
	}
	return out, nil
}

// at walks v by map keys (string) and sequence indexes (int); nil when absent.
func at(v any, path ...any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := at(v, path...).(string)
	return s
}

func seqAt(v any, path ...any) []any {
	s, _ := at(v, path...).([]any)
	return s
}

func mapAt(v any, path ...any) map[string]any {
	m, _ := at(v, path...).(map[string]any)
	return m
}

// strings of a sequence of scalars.
func strs(v any, path ...any) []string {
	var out []string
	for _, e := range seqAt(v, path...) {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func TestYAMLSubset(t *testing.T) {
	src := `# comment
a: 1
b:
  c: "x: y" # trailing
  d: 'it''s'
e:
- one
- k: v
  l: [migrate, "up"]
f:
  - - nested
  -
    g: h
empty: {}
url: http://example.com:80/a#frag
---
second: doc
`
	docs, err := parseYAML("t", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("documents: %d", len(docs))
	}
	d := docs[0]
	for _, c := range []struct {
		got, want string
	}{
		{str(d, "a"), "1"},
		{str(d, "b", "c"), "x: y"},
		{str(d, "b", "d"), "it's"},
		{str(d, "e", 0), "one"},
		{str(d, "e", 1, "k"), "v"},
		{str(d, "e", 1, "l", 1), "up"},
		{str(d, "f", 0, 0), "nested"},
		{str(d, "f", 1, "g"), "h"},
		{str(d, "url"), "http://example.com:80/a#frag"},
		{str(docs[1], "second"), "doc"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if m := mapAt(d, "empty"); m == nil || len(m) != 0 {
		t.Errorf("empty: %#v", at(d, "empty"))
	}
	for _, bad := range []string{
		"a: 1\n   b: 2\n",
		"a: 1\na: 2\n",
		"a: &x 1\n",
		"a: |\n  text\n",
		"a:\n\t- b\n",
		"a: [b, [c]]\n",
		"a: b: c\n",
		"a: \"open\n",
	} {
		if _, err := parseYAML("bad", bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
