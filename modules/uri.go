package modules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/kplay/kplay/shell"
)

// URIArgs are the arguments of uri.
type URIArgs struct {
	URL             string            `arg:"url,required"`
	Method          string            `arg:"method"`
	Body            any               `arg:"body"`
	BodyFormat      string            `arg:"body_format"`
	Headers         map[string]string `arg:"headers"`
	StatusCode      []int             `arg:"status_code"`
	ReturnContent   bool              `arg:"return_content"`
	ValidateCerts   *bool             `arg:"validate_certs"`
	CAPath          string            `arg:"ca_path"`
	ClientCert      string            `arg:"client_cert"`
	ClientKey       string            `arg:"client_key"`
	Timeout         int               `arg:"timeout"`
	URLUsername     string            `arg:"url_username|user"`
	URLPassword     string            `arg:"url_password|password"`
	ForceBasicAuth  bool              `arg:"force_basic_auth"`
	FollowRedirects string            `arg:"follow_redirects"`
}

// URI makes an HTTP request from the target host (as Ansible's uri runs
// there) with curl, or wget when curl is missing, and fails when the status
// is not one of status_code. Secrets (credentials, headers, the URL) reach
// the tool in a config file read from stdin, never on a command line that
// ps would show. It never reports a change: changed_when decides.
type URI struct{}

// Run implements Module.
func (URI) Run(ctx context.Context, req *Request) (Result, error) {
	var a URIArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	hr, err := a.request()
	if err != nil {
		return Result{}, fmt.Errorf("uri %s: %w", a.URL, err)
	}
	if len(a.StatusCode) == 0 {
		a.StatusCode = []int{200}
	}
	if req.Check && hr.Method != "GET" && hr.Method != "HEAD" {
		return Result{Unknown: true, Msg: fmt.Sprintf("%s %s skipped in check mode", hr.Method, a.URL)}, nil
	}
	resp, err := httpDo(ctx, req.Conn, hr, `"$w/out"`, false, "")
	if err != nil {
		return Result{}, fmt.Errorf("uri %s: %w", a.URL, err)
	}
	data := map[string]any{"status": resp.code, "url": resp.url, "content_type": resp.ctype, "msg": "OK"}
	if a.ReturnContent {
		data["content"] = string(resp.content)
	}
	if strings.Contains(resp.ctype, "json") && len(resp.content) > 0 {
		var v any
		if json.Unmarshal(resp.content, &v) == nil {
			data["json"] = v
		}
	}
	res := Result{Data: data, RC: resp.rc}
	switch {
	case resp.code == 0:
		res.Failed, res.Msg = true, fmt.Sprintf("request to %s failed: %s", a.URL, resp.errText())
	case !containsInt(a.StatusCode, resp.code):
		res.Failed = true
		res.Msg = fmt.Sprintf("status code was %d and not %v: %s", resp.code, a.StatusCode, resp.errText())
	default:
		res.Msg = fmt.Sprintf("OK (%d bytes)", len(resp.content))
	}
	if res.Failed {
		data["msg"] = res.Msg
	}
	return res, nil
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// request checks the arguments and builds the HTTP request.
func (a URIArgs) request() (httpRequest, error) {
	hr := httpRequest{URL: a.URL, Method: strings.ToUpper(a.Method), Headers: map[string]string{}, User: a.URLUsername,
		Password: a.URLPassword, ValidateCerts: a.ValidateCerts == nil || *a.ValidateCerts, CAPath: a.CAPath,
		ClientCert: a.ClientCert, ClientKey: a.ClientKey, Timeout: a.Timeout}
	if hr.Method == "" {
		hr.Method = "GET"
	}
	if hr.Timeout == 0 {
		hr.Timeout = 30
	}
	for k, v := range a.Headers {
		hr.Headers[k] = v
	}
	follow, err := followFor(a.FollowRedirects, hr.Method)
	if err != nil {
		return hr, err
	}
	hr.Follow = follow
	if a.Body == nil {
		return hr, hr.validate()
	}
	body, ctype, err := encodeBody(a.Body, a.BodyFormat)
	if err != nil {
		return hr, err
	}
	hr.Body = body
	if _, set := headerValue(hr.Headers, "Content-Type"); !set && ctype != "" {
		hr.Headers["Content-Type"] = ctype
	}
	return hr, hr.validate()
}

// followFor maps Ansible's follow_redirects (all, safe, none, urllib2, or
// a boolean) to whether this method follows redirects.
func followFor(v, method string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "safe", "urllib2":
		return method == "GET" || method == "HEAD", nil
	case "all", "yes", "true":
		return true, nil
	case "none", "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("parameter \"follow_redirects\": %q is not one of all, safe, none", v)
}

// encodeBody renders body as body_format says: raw text, JSON (a string is
// sent as it is, anything else is marshalled) or form-urlencoded (from a
// mapping).
func encodeBody(body any, format string) ([]byte, string, error) {
	switch format {
	case "", "raw":
		s, err := ToString(body)
		if err != nil {
			return nil, "", fmt.Errorf("parameter \"body\": body_format raw %w", err)
		}
		return []byte(s), "", nil
	case "json":
		if s, ok := body.(string); ok {
			return []byte(s), "application/json", nil
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, "", fmt.Errorf("parameter \"body\": %w", err)
		}
		return b, "application/json", nil
	case "form-urlencoded":
		m, ok := body.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("parameter \"body\": form-urlencoded wants a mapping, got %s", typeName(body))
		}
		vals := url.Values{}
		for k, v := range m {
			s, err := ToString(v)
			if err != nil {
				return nil, "", fmt.Errorf("parameter \"body\": key %q: %w", k, err)
			}
			vals.Set(k, s)
		}
		return []byte(vals.Encode()), "application/x-www-form-urlencoded", nil
	}
	return nil, "", fmt.Errorf("parameter \"body_format\": %q is not one of raw, json, form-urlencoded", format)
}

func headerValue(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// httpRequest is one HTTP request made on the target by curl or wget.
type httpRequest struct {
	URL, Method                   string
	Headers                       map[string]string
	Body                          []byte
	User, Password                string
	ValidateCerts                 bool
	CAPath, ClientCert, ClientKey string
	Timeout                       int
	Follow                        bool
}

func (r httpRequest) validate() error {
	u, err := url.Parse(r.URL)
	if err != nil {
		return fmt.Errorf("parameter \"url\": %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp" {
		return fmt.Errorf("parameter \"url\": scheme %q is not http, https or ftp", u.Scheme)
	}
	if strings.ContainsAny(r.URL+r.User+r.Password+r.Method+r.CAPath+r.ClientCert+r.ClientKey, "\r\n") {
		return fmt.Errorf("a newline in url, credentials, method or certificate paths")
	}
	for k, v := range r.Headers {
		if strings.ContainsAny(k+v, "\r\n") || strings.ContainsAny(k, ": ") || k == "" {
			return fmt.Errorf("parameter \"headers\": bad header %q", k)
		}
	}
	if r.ClientKey != "" && r.ClientCert == "" {
		return fmt.Errorf("parameter \"client_key\" needs client_cert")
	}
	return nil
}

// curlQuote quotes a value for a curl config file.
func curlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// curlConfig is the request as a curl config (read with -K), so that the
// URL, headers and credentials never show on a command line.
func (r httpRequest) curlConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "url = %s\nmax-time = %d\n", curlQuote(r.URL), r.Timeout)
	switch r.Method {
	case "GET":
	case "HEAD":
		b.WriteString("head\n")
	default:
		fmt.Fprintf(&b, "request = %s\n", curlQuote(r.Method))
	}
	for _, k := range sortedHeaderKeys(r.Headers) {
		fmt.Fprintf(&b, "header = %s\n", curlQuote(k+": "+r.Headers[k]))
	}
	if r.User != "" || r.Password != "" {
		fmt.Fprintf(&b, "user = %s\n", curlQuote(r.User+":"+r.Password))
	}
	if !r.ValidateCerts {
		b.WriteString("insecure\n")
	}
	for opt, v := range map[string]string{"cacert": r.CAPath, "cert": r.ClientCert, "key": r.ClientKey} {
		if v != "" {
			fmt.Fprintf(&b, "%s = %s\n", opt, curlQuote(v))
		}
	}
	if r.Follow {
		b.WriteString("location\n")
	}
	return b.String()
}

// wgetConfig is the same request as a wgetrc (values run to the end of the
// line, so validate has refused newlines).
func (r httpRequest) wgetConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "timeout = %d\ntries = 1\n", r.Timeout)
	for _, k := range sortedHeaderKeys(r.Headers) {
		fmt.Fprintf(&b, "header = %s: %s\n", k, r.Headers[k])
	}
	if r.User != "" || r.Password != "" {
		fmt.Fprintf(&b, "http_user = %s\nhttp_password = %s\nauth_no_challenge = on\n", r.User, r.Password)
	}
	if !r.ValidateCerts {
		b.WriteString("check_certificate = off\n")
	}
	for opt, v := range map[string]string{"ca_certificate": r.CAPath, "certificate": r.ClientCert, "private_key": r.ClientKey} {
		if v != "" {
			fmt.Fprintf(&b, "%s = %s\n", opt, v)
		}
	}
	if !r.Follow {
		b.WriteString("max_redirect = 0\n")
	}
	return b.String()
}

func sortedHeaderKeys(h map[string]string) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rcNoClient is the exit status of a script that found neither curl nor
// wget on the host.
const rcNoClient = 95

// httpScript returns the sh script that makes r with curl or wget, writing
// the response body to out (a shell word), and the stdin it reads: the
// curl config, the wgetrc, the URL and the body, framed by their sizes.
// It leaves rc (the tool's exit status), code, ctype and url set, in a
// private work folder $w removed on exit together with what cleanup (sh
// commands) removes. With fail, curl fails on an HTTP error status.
func httpScript(r httpRequest, out string, fail bool, cleanup string) (string, []byte) {
	cc, wc := r.curlConfig(), r.wgetConfig()
	stdin := []byte(cc + wc + r.URL)
	stdin = append(stdin, r.Body...)
	var curlArgs, wgetArgs string
	if fail {
		curlArgs = " --fail"
	} else {
		wgetArgs = " --content-on-error"
	}
	if r.Body != nil {
		curlArgs += ` --data-binary @"$w/body"`
	}
	if r.Method != "GET" {
		wgetArgs += " --method=" + shell.Quote(r.Method)
		if r.Body != nil {
			wgetArgs += ` --body-file="$w/body"`
		}
	}
	var b strings.Builder
	b.WriteString("umask 077\nloc=\nw=$(mktemp -d) || exit 1\n")
	b.WriteString(`trap 'rm -rf -- "$w"; ` + cleanup + `' EXIT` + "\ntrap 'exit 1' HUP INT TERM\n")
	fmt.Fprintf(&b, `head -c %d > "$w/curlrc" && head -c %d > "$w/wgetrc" && head -c %d > "$w/url" && cat > "$w/body" || exit 1`+"\n",
		len(cc), len(wc), len(r.URL))
	b.WriteString(`if command -v curl >/dev/null 2>&1; then
  curl -sS -K "$w/curlrc"` + curlArgs + ` -o ` + out + ` -w '%{http_code}\n%{content_type}\n%{url_effective}\n' > "$w/meta" 2> "$w/err"; rc=$?
  { read -r code; read -r ctype; read -r url; } < "$w/meta"
elif command -v wget >/dev/null 2>&1; then
  WGETRC="$w/wgetrc" wget -nv -S` + wgetArgs + ` -O ` + out + ` -i "$w/url" 2> "$w/err"; rc=$?
  code=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$w/err" | tail -n 1)
  ctype=$(sed -n 's/^ *[Cc]ontent-[Tt]ype: *//p' "$w/err" | tail -n 1 | tr -d '\r')
  url=$(cat "$w/url")
  loc=$(sed -n 's/^ *[Ll]ocation: *//p' "$w/err" | tail -n 1 | tr -d '\r')
else
  echo "neither curl nor wget is installed on the host" >&2; exit ` + strconv.Itoa(rcNoClient) + `
fi
`)
	return b.String(), stdin
}

// httpResponse is what the uri script reports.
type httpResponse struct {
	rc, code        int
	ctype, url      string
	content, stderr []byte
}

func (r httpResponse) errText() string {
	s := strings.TrimSpace(string(r.stderr))
	if s == "" {
		return fmt.Sprintf("rc %d", r.rc)
	}
	return s
}

// effectiveURL resolves the last redirect's location (wget reports only
// that) against the URL asked for.
func effectiveURL(u, loc string) string {
	if loc == "" {
		return u
	}
	base, err := url.Parse(u)
	if err != nil {
		return u
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return u
	}
	return base.ResolveReference(ref).String()
}

// httpDo runs r on the host and returns the response: the status line
// fields, then the body.
func httpDo(ctx context.Context, c Conn, r httpRequest, out string, fail bool, cleanup string) (httpResponse, error) {
	script, stdin := httpScript(r, out, fail, cleanup)
	script += `printf '%s\n%s\n%s\n%s\n%s\n' "$rc" "$code" "$ctype" "$url" "$loc"; cat "$w/err" >&2; cat -- ` + out + " 2>/dev/null; exit 0\n"
	var o, e bytes.Buffer
	if err := c.Exec(ctx, script, bytes.NewReader(stdin), &o, &e); err != nil {
		if ExitCode(err) == rcNoClient {
			return httpResponse{}, fmt.Errorf("neither curl nor wget is installed on the host")
		}
		return httpResponse{}, execErr("request", r.URL, err, &e)
	}
	parts := strings.SplitN(o.String(), "\n", 6)
	if len(parts) < 6 {
		return httpResponse{}, fmt.Errorf("request %s: unexpected output %q", r.URL, o.String())
	}
	resp := httpResponse{ctype: parts[2], url: effectiveURL(parts[3], parts[4]), content: []byte(parts[5]), stderr: e.Bytes()}
	resp.rc, _ = strconv.Atoi(parts[0])
	resp.code, _ = strconv.Atoi(parts[1])
	return resp, nil
}
