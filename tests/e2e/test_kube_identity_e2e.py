"""End-to-end (root): Kubernetes pod identity of a real MCP server placed in a cgroup shaped like a pod container's
(name=systemd hierarchy, systemd cgroup driver, containerd scope), with the local stand-in API server
(kube_api_standin.py) serving that pod, and with no API server (kubelet log dirs, then the cgroup alone)."""
import json
import os
import subprocess
import socket
import time
import urllib.request
import uuid

from harness import NPM_DIR, Agent, AgentTestCase, base_env, fake_github_pat, fake_openai_key

EVERYTHING_JS = os.path.join(NPM_DIR, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kube_api_standin.py")
CGROUP_ROOT = "/sys/fs/cgroup/systemd"
NODE = "e2e-node"


def fake_sa_token():
    """A service-account token shaped like one (three base64url parts)."""
    import base64
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return ".".join([enc(b'{"alg":"RS256","kid":"e2e"}'),
                     enc(json.dumps({"sub": "system:serviceaccount:credtrace:agent",
                                     "nonce": uuid.uuid4().hex}).encode()),
                     enc(os.urandom(64))])


class PodCgroup:
    """kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope."""

    def __init__(self):
        self.uid = str(uuid.uuid4())
        self.container_id = uuid.uuid4().hex + uuid.uuid4().hex
        self.parents = [os.path.join(CGROUP_ROOT, "kubepods.slice"),
                        os.path.join(CGROUP_ROOT, "kubepods.slice/kubepods-besteffort.slice")]
        self.pod_dir = os.path.join(self.parents[1], f"kubepods-besteffort-pod{self.uid.replace('-', '_')}.slice")
        self.path = os.path.join(self.pod_dir, f"cri-containerd-{self.container_id}.scope")
        os.makedirs(self.path)

    def enter(self):
        """preexec_fn: moves the child into the container's cgroup before it execs."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def remove(self):
        for d in (self.path, self.pod_dir, *reversed(self.parents)):
            try:
                os.rmdir(d)
            except OSError:
                pass  # a parent another test still uses


def pod_json(cgroup, name, labels, env_secret):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"uid": cgroup.uid, "name": name, "namespace": "mcp-tools", "labels": labels,
                         "annotations": {"note": env_secret},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "mcp-everything-5f7c9d",
                                              "uid": str(uuid.uuid4()), "controller": True}]},
            "spec": {"nodeName": NODE, "serviceAccountName": "mcp-everything",
                     "containers": [{"name": "everything", "env": [{"name": "OPENAI_API_KEY", "value": env_secret}]},
                                    {"name": "log-shipper"}]},
            "status": {"qosClass": "BestEffort",
                       "containerStatuses": [{"name": "everything", "containerID": "containerd://" + cgroup.container_id},
                                             {"name": "log-shipper", "containerID": "containerd://" + "e" * 64}]}}


class KubeIdentityE2E(AgentTestCase):
    scratch_prefix = "credtrace-kube-e2e-"

    def setUp(self):
        super().setUp()
        if not os.path.isdir(CGROUP_ROOT):
            self.skipTest("no cgroup v1 name=systemd hierarchy at " + CGROUP_ROOT)
        self.cgroups, self.servers, self.standin = [], [], None
        self.token = self.secret(fake_sa_token)
        self.token_file = os.path.join(self.dir, "token")
        with open(self.token_file, "w") as f:
            f.write(self.token + "\n")
        self.log_root = os.path.join(self.dir, "log")
        os.makedirs(self.log_root)

    def tearDown(self):
        for server in self.servers:
            if server.poll() is None:
                server.stdin.close()
                server.terminate()
            server.wait()
        if self.standin:
            self.standin.terminate()
            self.standin.wait()
        for cgroup in self.cgroups:
            cgroup.remove()
        super().tearDown()

    def start_standin(self, pods):
        pods_file, ready = os.path.join(self.dir, "pods.json"), os.path.join(self.dir, "ready")
        with open(pods_file, "w") as f:
            json.dump(pods, f)
        certs = os.path.join(self.dir, "certs")
        os.makedirs(certs)
        self.standin = subprocess.Popen(["python3", STANDIN, "--dir", certs, "--token-file", self.token_file,
                                         "--node", NODE, "--ready-file", ready, "--pods", pods_file])
        for _ in range(300):
            if os.path.exists(ready):
                break
            time.sleep(0.05)
        with open(ready) as f:
            api_port, control_port, ca = f.read().split()
        self.control_port = int(control_port)
        return int(api_port), ca

    def start_agent(self, api_port, ca, extra=""):
        config = extra + f"""kubernetes:
  api_watch: on
  node_name: {NODE}
  api_server: https://127.0.0.1:{api_port}
  token_file: {self.token_file}
  ca_file: {ca}
  log_root: {self.log_root}
"""
        self.agent = Agent(extra_config=config).start(timeout=40)
        return self.agent

    def start_server_in(self, cgroup, env):
        server = subprocess.Popen(["node", EVERYTHING_JS], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=NPM_DIR, env=dict(base_env(), **env),
                                  preexec_fn=cgroup.enter)
        self.servers.append(server)
        return server

    def server_start(self, server):
        return self.agent.wait_for(lambda e: e["type"] == "mcp_server_start" and e["process"]["pid"] == server.pid,
                                   timeout=30, what="mcp_server_start of the pod's server")

    def latest_health(self, pred):
        health = self.agent.wait_for(lambda e: e["type"] == "agent_health" and pred(e["agent_health"]),
                                     timeout=20, what="agent_health")
        return health["agent_health"]

    def test_api_server_names_the_pod_labels_account_and_owner(self):
        cgroup = PodCgroup()
        self.cgroups.append(cgroup)
        label_secret = self.secret(fake_github_pat)
        env_secret = self.secret(fake_openai_key)
        labels = {"app.kubernetes.io/name": "mcp-everything", "pod-template-hash": "5f7c9d",
                  "ci-token": label_secret}
        api_port, ca = self.start_standin([pod_json(cgroup, "mcp-everything-5f7c9d-q8x2z", labels, env_secret)])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            metrics_port = s.getsockname()[1]
        agent = self.start_agent(api_port, ca, f"metrics:\n  enabled: true\n  listen: 127.0.0.1:{metrics_port}\n")
        server = self.start_server_in(cgroup, {})
        w = self.server_start(server)["workload"]
        self.assertIn(cgroup.container_id, w["cgroup"])
        self.assertEqual(w["container"], {"runtime": "containerd", "id": cgroup.container_id})
        k = w["kubernetes"]
        self.assertEqual(k["source"], "api_server")
        self.assertEqual(k["pod_uid"], cgroup.uid)
        self.assertEqual(k["namespace"], "mcp-tools")
        self.assertEqual(k["pod"], "mcp-everything-5f7c9d-q8x2z")
        self.assertEqual(k["container"], "everything")
        self.assertEqual(k["service_account"], "mcp-everything")
        self.assertEqual(k["owner_kind"], "ReplicaSet")
        self.assertEqual(k["owner_name"], "mcp-everything-5f7c9d")
        self.assertEqual(k["qos_class"], "besteffort")
        self.assertEqual(k["labels"]["app.kubernetes.io/name"], "mcp-everything")
        self.assertEqual(k["labels"]["pod-template-hash"], "5f7c9d")
        self.assertEqual(k["labels"]["ci-token"], "<redacted:github_pat>")
        self.assertFalse(k["labels_truncated"])
        health = self.latest_health(lambda h: h.get("kube_api_state") == "watching")
        self.assertEqual(int(health["sensors"]["kube_api_pods_cached"]), 1)
        self.assertGreaterEqual(int(health["sensors"]["kube_api_lists"]), 1)
        self.assertGreaterEqual(int(health["sensors"]["kube_api_watches"]), 1)
        self.assertEqual(int(health["sensors"]["kube_api_errors"]), 0)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
            metrics = reply.read().decode()
        self.assertIn('credtrace_agent_kube_api_state{state="watching"} 1', metrics)
        self.assertIn('credtrace_agent_kube_api_state{state="backoff"} 0', metrics)
        self.assertIn('credtrace_agent_sensor{counter="kube_api_pods_cached"} 1', metrics)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.control_port}/requests") as reply:
            requests = json.load(reply)
        self.assertEqual([r["kind"] for r in requests[:2]], ["list", "watch"])
        for r in requests:  # the watch is limited to this node's pods, always with the token
            self.assertEqual(r["query"]["fieldSelector"], "spec.nodeName=" + NODE)
            self.assertTrue(r["authorized"])

    def test_without_the_api_server_the_fallbacks_fill_what_they_can_and_say_so(self):
        with_logs, bare = PodCgroup(), PodCgroup()
        self.cgroups += [with_logs, bare]
        os.makedirs(os.path.join(self.log_root, "pods", f"mcp-tools_mcp-logged-0_{with_logs.uid}", "everything"))
        # No stand-in: the configured API server port is closed.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]
        self.start_agent(closed_port, os.path.join(self.dir, "no-ca.crt"))
        first = self.start_server_in(with_logs, {})
        k = self.server_start(first)["workload"]["kubernetes"]
        self.assertEqual(k["source"], "kubelet_log_dirs")
        self.assertEqual(k["pod_uid"], with_logs.uid)
        self.assertEqual(k["namespace"], "mcp-tools")
        self.assertEqual(k["pod"], "mcp-logged-0")
        self.assertEqual(k["container"], "everything")
        for unknown in ("service_account", "owner_kind", "owner_name"):
            self.assertEqual(k[unknown], "", unknown)
        self.assertEqual(k["labels"], {})
        second = self.start_server_in(bare, {})
        k = self.server_start(second)["workload"]["kubernetes"]
        self.assertEqual(k["source"], "cgroup")
        self.assertEqual(k["pod_uid"], bare.uid)
        self.assertEqual(k["qos_class"], "besteffort")
        for unknown in ("namespace", "pod", "container", "service_account", "owner_kind"):
            self.assertEqual(k[unknown], "", unknown)
        health = self.latest_health(lambda h: int(h.get("sensors", {}).get("kube_api_errors", 0)) >= 1)
        self.assertIn(health["kube_api_state"], ("backoff", "listing"))
        self.assertEqual(int(health["sensors"]["kube_api_lists"]), 0)
        self.assertEqual(int(health["sensors"]["kube_api_pods_cached"]), 0)
