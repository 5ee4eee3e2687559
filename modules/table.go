package modules

import "sort"

// Info describes one module in the table: the value that runs it, the
// prototype of its argument struct (for checking argument names at load
// time) and whether it takes a free-form string ("command: ls -l").
type Info struct {
	Module Module
	// Args is a zero value of the module's argument struct.
	Args any
	// FreeForm modules take "module: string" as "_raw_params".
	FreeForm bool
}

// table lists every module by its YAML name, as Ansible names it. Aliases
// point at the same Info. Keep this list sorted and explicit: no init().
var table = map[string]Info{
	"apt":                   {Module: Package{Manager: "apt"}, Args: PackageArgs{}},
	"blockinfile":           {Module: Blockinfile{}, Args: BlockinfileArgs{}},
	"command":               {Module: Command{}, Args: CommandArgs{}, FreeForm: true},
	"copy":                  {Module: Copy{}, Args: CopyArgs{}},
	"dnf":                   {Module: Package{Manager: "dnf"}, Args: PackageArgs{}},
	"fetch":                 {Module: Fetch{}, Args: FetchArgs{}},
	"file":                  {Module: File{}, Args: FileArgs{}},
	"get_url":               {Module: GetURL{}, Args: GetURLArgs{}},
	"group":                 {Module: Group{}, Args: GroupArgs{}},
	"hostname":              {Module: Hostname{}, Args: HostnameArgs{}},
	"k8s_apply":             {Module: K8sApply{}, Args: K8sApplyArgs{}},
	"lineinfile":            {Module: Lineinfile{}, Args: LineinfileArgs{}},
	"modprobe":              {Module: Modprobe{}, Args: ModprobeArgs{}},
	"package":               {Module: Package{}, Args: PackageArgs{}},
	"pki":                   {Module: PKI{}, Args: PKIArgs{}},
	"raw":                   {Module: Raw{}, Args: RawArgs{}, FreeForm: true},
	"replace":               {Module: Replace{}, Args: ReplaceArgs{}},
	"script":                {Module: Script{}, Args: ScriptArgs{}, FreeForm: true},
	"service":               {Module: Systemd{}, Args: SystemdArgs{}},
	"shell":                 {Module: Shell{}, Args: CommandArgs{}, FreeForm: true},
	"slurp":                 {Module: Slurp{}, Args: SlurpArgs{}},
	"stat":                  {Module: StatModule{}, Args: StatArgs{}},
	"sysctl":                {Module: Sysctl{}, Args: SysctlArgs{}},
	"systemd":               {Module: Systemd{}, Args: SystemdArgs{}},
	"systemd_service":       {Module: Systemd{}, Args: SystemdArgs{}},
	"template":              {Module: Template{}, Args: TemplateArgs{}},
	"unarchive":             {Module: Unarchive{}, Args: UnarchiveArgs{}},
	"uri":                   {Module: URI{}, Args: URIArgs{}},
	"user":                  {Module: User{}, Args: UserArgs{}},
	"vrrp_probe":            {Module: VRRPProbe{}, Args: VRRPProbeArgs{}},
	"wait_for":              {Module: WaitFor{}, Args: WaitForArgs{}},
	"x509_certificate_info": {Module: X509Info{}, Args: X509InfoArgs{}},
	"yum":                   {Module: Package{Manager: "yum"}, Args: PackageArgs{}},
}

// Lookup returns the module registered under name.
func Lookup(name string) (Info, bool) {
	i, ok := table[name]
	return i, ok
}

// Names lists every module name, sorted.
func Names() []string {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
