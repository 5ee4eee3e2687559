// Package engine loads playbooks and runs them on an inventory's hosts the
// way ansible-playbook does, with a Go program's guarantees: one event
// stream in a deterministic order, typed errors, cancellation through a
// context. cmd/kplay is one client of it; any Go program can be another:
//
//	rep, err := engine.Run(ctx, engine.Options{Inventory: inv, Playbooks: []string{"site.yaml"}, Sink: sink})
//
// # A run
//
// Run loads every playbook (all problems are *LoadError values with
// file:line:col, before any host is touched), then for each play: renders
// its hosts pattern with the extra and play vars, matches it, applies
// --limit and drops hosts that failed or were unreachable in an earlier
// play; splits the hosts into serial batches; and for each batch runs
// Gathering Facts (when gather_facts), pre_tasks, roles and tasks,
// post_tasks, flushing handlers after each of the three sections.
//
// The strategy is Ansible's linear one: a task runs on every live host of
// the batch before the next task starts. Hosts run in parallel, at most
// Options.Forks (0: all) or the task's throttle at once, each in its own
// goroutine writing its own result slot. One host's failure never cancels
// the others. Events are sent in host order once the task finished on all
// hosts, so two runs of the same playbook give the same stream; only
// host_start and retry are sent live, through the same serialized sink.
//
// # The life of a task on a host
//
//  1. Variables: a scope is built from the layers below (lowest first); a
//     value holding "{{ }}" is rendered when an expression names it, after
//     the variables it names (a loop of variables is an error naming them).
//     role defaults < inventory (group vars, group_vars/, host vars,
//     host_vars/) < facts < play vars < vars_files < role vars and params <
//     block vars < task vars < include vars < include_vars < set_fact and
//     registered results < extra vars < magic variables (inventory_hostname,
//     groups, group_names, hostvars, ansible_play_hosts, ansible_play_batch,
//     play_hosts, role_name, role_path, playbook_dir, ansible_check_mode,
//     ansible_diff_mode, ansible_run_tags, omit) < loop variables.
//     Facts, registered results and set_fact values are data: they are
//     never rendered again (a command output holding "{{" stays as is).
//  2. Loop: loop (a list or an expression), with_items (flattened one
//     level) or with_dict expands to items; each item runs steps 3-6 with
//     loop_control's loop_var and index_var set.
//  3. Conditions: when of the enclosing blocks and of the task, all must
//     hold, else the item is skipped.
//  4. Action: the arguments are rendered and those equal to omit dropped;
//     a built-in (debug, set_fact, assert, fail, pause, include_tasks,
//     include_role, include_vars, gather_facts, wait_for_connection) runs
//     in the engine; any other action is a module from the modules table,
//     called with the host's connection (or delegate_to's, "localhost"
//     being local), wrapped for become and environment, the role's files,
//     check and diff flags and the backup suffix. Request.Render renders a
//     template with every variable (hostvars included); Request.Vars holds
//     the plain variables and the templated ones the arguments named,
//     rendered (rendering all of them for each call would cost more than
//     the call).
//  5. Verdict: a module error is a failure, or unreachable when it wraps
//     transport.ErrUnreachable; changed_when then failed_when (with the
//     register name bound to this result) override the module's flags.
//  6. until: the action is repeated until the condition holds, at most
//     retries (default 3) more times, delay (default 5s; seconds or a Go
//     duration) apart, with a retry event before each new attempt.
//     Unreachable results are never retried.
//
// Then, in host order: the result is sent (items first), counted in the
// host's stats as the recap counts them (ok includes changed; an ignored
// failure is ok and ignored; a failure inside a block with rescue is
// rescued), registered, set_fact values stored, handlers notified when
// the result is changed, and a failed host leaves the play (and the rest
// of the run), unless rescue catches it. run_once runs on the first host of
// the batch and applies the result to every host of the batch (events and
// stats belong to the host that ran it). any_errors_fatal ends the play
// after the failing task; max_fail_percentage ends it when more than that
// share of the batch failed; either keeps the play's hosts out of the rest
// of the run, as Ansible does.
//
// Handlers run when flushed (end of each section, meta: flush_handlers),
// once per host, in the order they are defined, only on the hosts that
// notified them (by name, "role : name" or listen topic) and are still in
// the play.
//
// # Contracts with modules
//
// Idempotence: a module moves one aspect of a host toward its arguments
// and reports Changed only when it changed something, so a second run
// reports changed=0. Check mode (--check, or check_mode on a play, block
// or task, the innermost winning): modules change nothing and predict
// the change. A module that cannot predict (command without creates or
// removes, raw) returns Unknown: the engine then reports the task ok (not
// changed, not skipped) with TaskResult.Unknown set, registered as
// unknown: true, so a user sees that --check could not tell and the
// prediction of changes stays exact for the modules that can tell.
//
// Undo: every change a module makes comes back as modules.Change entries
// in its result. Every host_result event carries them (TaskResult.Changes,
// loop items' changes included) and is sent before the next task starts,
// so a journaling sink records each change before anything else happens
// on that host; rollback replays the journal backwards in a later process.
//
// Resume: every host_result event carries TaskID (the task's file:line:col
// and name), ArgsHash (a hash of the module and the rendered arguments of
// each item that ran) and Register; TaskResult.Map is the registered value.
// A journal keeps them; on a later run, Options.Resume is asked before a
// module task runs on a host, and when it returns the earlier result for
// the same TaskID and ArgsHash, the task is not run again there: the
// result is replayed (status as before, msg "resumed: ..."), registered,
// and notifies handlers if it had changed. Built-ins always run.
//
// rollback_on_failure on a play (or Options.RollbackOnFailure): at the end
// of each batch, every host that failed in it has the changes the play
// made there undone, newest first (journal.Rollback: files restored or
// removed, services put back), reported as a "rollback on failure" task,
// then the rollback tasks (tasks/rollback.yaml) of the role it failed in
// run on it. The host stays failed. Nothing is rolled back in check mode.
//
// # Exit codes
//
// Report.ExitCode follows ansible-playbook's documented codes: 0 ok, 2 a
// host failed, 3 a host unreachable (it wins over 2), 99 interrupted. Run's
// own errors are *LoadError (4) and *OptionsError (5).
//
// # Known differences from Ansible
//
// Connection settings (ansible_host, ansible_user, ansible_become...) are
// read from the host's variables at every level, rendered. Tags on an
// include_tasks task do not pass to the included tasks (as Ansible without
// apply). meta tasks send no events. Facts are gathered once per host per
// run, not per play. Once any_errors_fatal or max_fail_percentage ends a
// play, pending rescue and always sections do not run. Not supported:
// force_handlers, strategy free, async/poll, prompts in pause, retries
// without until (ansible-core 2.16), ansible_loop (loop_control.extended).
package engine
