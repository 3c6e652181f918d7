// probe drives a Corral agent with the real mesos-go v1 agent client (Debian's
// golang-github-mesos-mesos-go-dev 0.0.6), in one codec, through every read call that client
// knows. It decodes each answer into mesos-go's Go types, checks the values against what the
// test launched, records the exact Content-Type of every answer, and prints a JSON report on
// stdout. Any mismatch is a line on stderr and exit status 1.
//
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build -o probe probe.go
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/agent"
	"github.com/mesos/mesos-go/api/v1/lib/agent/calls"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpagent"
)

var (
	endpoint  = flag.String("endpoint", "", "the agent's /api/v1 URL")
	codecName = flag.String("codec", "protobuf", "protobuf or json")
	container = flag.String("container", "", "id of a running container")
	classid   = flag.Uint("classid", 0, "its net_cls classid")
	version   = flag.String("version", "", "the agent version expected")
	output    = flag.String("output", "", "text the container wrote to its stdout")
)

// report is what the test reads back: what was decoded, per call.
type report struct {
	Codec        string            `json:"codec"`
	ContentTypes map[string]string `json:"content_types"`
	Decoded      map[string]any    `json:"decoded"`
	Failures     []string          `json:"failures"`
}

func main() {
	flag.Parse()
	codec, ok := map[string]string{"protobuf": "application/x-protobuf", "json": "application/json"}[*codecName]
	if !ok || *endpoint == "" || *container == "" {
		fmt.Fprintln(os.Stderr, "usage: probe -endpoint URL -codec protobuf|json -container ID -classid N -version V -output TEXT")
		os.Exit(2)
	}
	r := report{Codec: codec, ContentTypes: map[string]string{}, Decoded: map[string]any{}}
	var lastContentType string
	client := httpcli.New(
		httpcli.Endpoint(*endpoint),
		httpcli.Codec(codecs.ByMediaType[encoding.MediaType(codec)]),
		// Record the header byte for byte, before mesos-go compares it.
		httpcli.WrapDoer(func(next httpcli.DoFunc) httpcli.DoFunc {
			return func(req *http.Request) (*http.Response, error) {
				res, err := next(req)
				if res != nil {
					lastContentType = strings.Join(res.Header.Values("Content-Type"), "\n")
				}
				return res, err
			}
		}),
	)
	sender := httpagent.NewSender(client.Send)
	ctx := context.Background()
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }

	call := func(name string, c *agent.Call) *agent.Response {
		lastContentType = "(no answer)"
		res, err := sender.Send(ctx, calls.NonStreaming(c))
		r.ContentTypes[name] = lastContentType
		if err != nil {
			fail("%s: %v", name, err)
			return nil
		}
		defer res.Close()
		var decoded agent.Response
		if err := res.Decode(&decoded); err != nil {
			fail("%s: decoding: %v", name, err)
			return nil
		}
		if lastContentType != codec {
			fail("%s: Content-Type %q, want %q", name, lastContentType, codec)
		}
		return &decoded
	}

	if res := call("GET_HEALTH", calls.GetHealth()); res != nil {
		r.Decoded["healthy"] = res.GetGetHealth().GetHealthy()
	}
	if res := call("GET_VERSION", calls.GetVersion()); res != nil {
		got := res.GetGetVersion().VersionInfo.Version
		r.Decoded["version"] = got
		if got != *version {
			fail("GET_VERSION: version %q, want %q", got, *version)
		}
	}
	if res := call("GET_FLAGS", calls.GetFlags()); res != nil {
		flags := map[string]string{}
		for _, f := range res.GetGetFlags().GetFlags() {
			flags[f.GetName()] = f.GetValue()
		}
		r.Decoded["isolation"] = flags["isolation"]
	}
	if res := call("GET_METRICS", calls.GetMetrics(nil)); res != nil {
		r.Decoded["metrics"] = len(res.GetGetMetrics().GetMetrics())
	}

	if res := call("GET_LOGGING_LEVEL", calls.GetLoggingLevel()); res != nil {
		r.Decoded["logging_level_before"] = res.GetGetLoggingLevel().GetLevel()
	}
	// A no-data call: mesos-go refuses any Content-Type on its answer.
	lastContentType = "(no answer)"
	if _, err := sender.Send(ctx, calls.NonStreaming(calls.SetLoggingLevel(1, 2*time.Second))); err != nil {
		fail("SET_LOGGING_LEVEL: %v", err)
	}
	r.ContentTypes["SET_LOGGING_LEVEL"] = lastContentType
	if res := call("GET_LOGGING_LEVEL", calls.GetLoggingLevel()); res != nil {
		r.Decoded["logging_level_after"] = res.GetGetLoggingLevel().GetLevel()
	}

	sandbox := fmt.Sprintf("/frameworks/corral-local/executors/%s/runs/latest", *container)
	if res := call("LIST_FILES", calls.ListFiles(sandbox)); res != nil {
		var names []string
		for _, info := range res.GetListFiles().GetFileInfos() {
			names = append(names, info.GetPath())
		}
		r.Decoded["files"] = names
	}
	if res := call("READ_FILE", calls.ReadFile(sandbox+"/stdout", 0)); res != nil {
		data := string(res.GetReadFile().GetData())
		r.Decoded["stdout"] = data
		if data != *output {
			fail("READ_FILE: data %q, want %q", data, *output)
		}
	}

	var agentID string
	if res := call("GET_AGENT", calls.GetAgent()); res != nil {
		info := res.GetGetAgent().GetAgentInfo()
		agentID = info.GetID().GetValue()
		r.Decoded["agent_id"] = agentID
		r.Decoded["hostname"] = info.GetHostname()
	}
	if res := call("GET_FRAMEWORKS", calls.GetFrameworks()); res != nil {
		var ids []string
		for _, f := range res.GetGetFrameworks().GetFrameworks() {
			ids = append(ids, f.FrameworkInfo.GetID().GetValue())
		}
		r.Decoded["frameworks"] = ids
	}
	if res := call("GET_EXECUTORS", calls.GetExecutors()); res != nil {
		var ids []string
		for _, e := range res.GetGetExecutors().GetExecutors() {
			ids = append(ids, e.ExecutorInfo.ExecutorID.Value)
		}
		r.Decoded["executors"] = ids
	}
	checkTasks := func(name string, tasks *agent.Response_GetTasks) {
		for _, task := range tasks.GetLaunchedTasks() {
			if task.TaskID.Value != *container {
				continue
			}
			r.Decoded[name+"_task_state"] = task.GetState().String()
			if task.AgentID.Value != agentID {
				fail("%s: task agent_id %q, want %q", name, task.AgentID.Value, agentID)
			}
			statuses := task.GetStatuses()
			if len(statuses) == 0 {
				fail("%s: task %s has no statuses", name, *container)
				return
			}
			last := statuses[len(statuses)-1].GetContainerStatus()
			got := last.GetCgroupInfo().GetNetCLS().GetClassID()
			r.Decoded[name+"_classid"] = got
			if got != uint32(*classid) {
				fail("%s: classid %d, want %d", name, got, *classid)
			}
			return
		}
		fail("%s: no launched task %s", name, *container)
	}
	if res := call("GET_TASKS", calls.GetTasks()); res != nil {
		checkTasks("GET_TASKS", res.GetGetTasks())
	}
	if res := call("GET_STATE", calls.GetState()); res != nil {
		checkTasks("GET_STATE", res.GetGetState().GetGetTasks())
	}
	if res := call("GET_CONTAINERS", calls.GetContainers()); res != nil {
		found := false
		for _, c := range res.GetGetContainers().GetContainers() {
			if c.ContainerID.Value != *container {
				continue
			}
			found = true
			got := c.GetContainerStatus().GetCgroupInfo().GetNetCLS().GetClassID()
			r.Decoded["GET_CONTAINERS_classid"] = got
			if got != uint32(*classid) {
				fail("GET_CONTAINERS: classid %d, want %d", got, *classid)
			}
			r.Decoded["GET_CONTAINERS_pid"] = c.GetContainerStatus().GetExecutorPID()
		}
		if !found {
			fail("GET_CONTAINERS: no container %s", *container)
		}
	}

	// Nested containers do not exist in Corral: 501 with a reason, which mesos-go reports as such.
	_, err := sender.Send(ctx, calls.NonStreaming(calls.WaitNestedContainer(mesos.ContainerID{Value: "x", Parent: &mesos.ContainerID{Value: "p"}})))
	if apiErr, ok := err.(*apierrors.Error); ok && apierrors.Code(501).Matches(apiErr) {
		r.Decoded["WAIT_NESTED_CONTAINER"] = 501
	} else {
		fail("WAIT_NESTED_CONTAINER: want a 501 error, got %v", err)
	}

	out, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(out))
	if len(r.Failures) > 0 {
		for _, failure := range r.Failures {
			fmt.Fprintln(os.Stderr, failure)
		}
		os.Exit(1)
	}
}
