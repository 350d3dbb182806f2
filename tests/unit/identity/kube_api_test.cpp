// PodWatcher against a local stand-in API server (tests/e2e/kube_api_standin.py, HTTPS on 127.0.0.1 with a test CA):
// LIST then WATCH of the node's pods, ADDED/MODIFIED/DELETED/BOOKMARK, 410 Gone → relist, a cut connection →
// reconnect from the last resourceVersion, a wrong token → 401 counted, then the rotated token file read again.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "identity/kube_api.h"
#include "temp_dir.h"

namespace credtrace::identity {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::TempDir;

const std::string kNode = "node-a";
const std::string kToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6InN0YW5kaW4ifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y3JlZHRyYWNlIn0.c2lnbmF0dXJlLW9mLXRoZS1zdGFuZGluLXRva2Vu";
const std::string kLabelSecret = "ghp_T3stLab3lV4lu3Sh0uldN3v3rL34v3Th3Ag3";

std::string container_id(char fill) { return std::string(64, fill); }

json pod(const std::string& uid, const std::string& name, const std::string& node, char id_fill,
         json labels = json::object()) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"uid", uid},
            {"name", name},
            {"namespace", "agents"},
            {"labels", labels},
            {"ownerReferences",
             json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", name + "-rs"},
                           {"uid", "rs-uid"}, {"controller", true}}})}}},
          {"spec",
           {{"nodeName", node},
            {"serviceAccountName", "mcp-runner"},
            {"containers", json::array({{{"name", "server"}, {"env", json::array({{{"name", "API_KEY"},
                                                                                  {"value", "sk-not-kept"}}})}},
                                         {{"name", "sidecar"}}})}}},
          {"status",
           {{"qosClass", "BestEffort"},
            {"containerStatuses",
             json::array({{{"name", "server"}, {"containerID", "containerd://" + container_id(id_fill)}},
                          {{"name", "sidecar"}, {"containerID", "containerd://" + container_id('f')}}})}}}};
}

size_t collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The stand-in process and its control port.
class StandIn {
 public:
  StandIn(const TempDir& dir, const json& pods) : dir_(dir) {
    token_file_ = dir.write("token", kToken + "\n").string();
    std::string pods_file = dir.write("pods.json", pods.dump()).string();
    std::string ready = (dir.path() / "ready").string();
    std::string script = std::string(CREDTRACE_SOURCE_DIR) + "/tests/e2e/kube_api_standin.py";
    pid_ = fork();
    if (pid_ == 0) {
      execlp("python3", "python3", script.c_str(), "--dir", dir.path().c_str(), "--token-file", token_file_.c_str(),
             "--node", kNode.c_str(), "--ready-file", ready.c_str(), "--pods", pods_file.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 300 && !std::ifstream(ready); ++i) std::this_thread::sleep_for(50ms);
    std::ifstream in(ready);
    in >> api_port_ >> control_port_ >> ca_;
  }
  ~StandIn() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return api_port_ > 0; }

  PodWatchOptions options() const {
    PodWatchOptions o;
    o.api_server = "https://127.0.0.1:" + std::to_string(api_port_);
    o.node_name = kNode;
    o.token_file = token_file_;
    o.ca_file = ca_;
    o.watch_timeout_seconds = 30;
    o.backoff_initial = 50ms;
    o.backoff_max = 200ms;
    return o;
  }

  std::string control(const std::string& method, const std::string& path, const std::string& body = "") {
    CURL* curl = curl_easy_init();
    std::string reply;
    std::string url = "http://127.0.0.1:" + std::to_string(control_port_) + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    return reply;
  }
  json requests() { return json::parse(control("GET", "/requests")); }
  const std::string& token_file() const { return token_file_; }

 private:
  const TempDir& dir_;
  pid_t pid_ = -1;
  int api_port_ = 0, control_port_ = 0;
  std::string ca_, token_file_;
};

uint64_t counter(const PodWatcher& watcher, const std::string& name) {
  for (const auto& [key, value] : watcher.counters())
    if (key == name) return value;
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

class KubeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json pods = json::array({pod("uid-a", "mcp-a", kNode, 'a', {{"app", "mcp-a"}, {"deploy-token", kLabelSecret}}),
                             pod("uid-other", "elsewhere", "node-b", 'b')});
    standin_ = std::make_unique<StandIn>(dir_, pods);
    if (!standin_->ready()) GTEST_FAIL() << "the stand-in API server did not start (python3, openssl)";
  }
  TempDir dir_;
  std::unique_ptr<StandIn> standin_;
  PodCache cache_;
};

TEST_F(KubeApiTest, ListsTheNodesPodsThenFollowsTheWatch) {
  PodWatcher watcher(standin_->options(), cache_);
  watcher.start();
  ASSERT_TRUE(watcher.wait_for_first_list(10s));
  auto a = cache_.lookup("uid-a", container_id('a'));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pod.namespace_name, "agents");
  EXPECT_EQ(a->pod.name, "mcp-a");
  EXPECT_EQ(a->container_name, "server");
  EXPECT_EQ(a->pod.service_account, "mcp-runner");
  EXPECT_EQ(a->pod.owner_kind, "ReplicaSet");
  EXPECT_EQ(a->pod.owner_name, "mcp-a-rs");
  EXPECT_EQ(a->pod.qos_class, "besteffort");
  std::map<std::string, std::string> labels(a->pod.labels.begin(), a->pod.labels.end());
  EXPECT_EQ(labels["app"], "mcp-a");
  EXPECT_EQ(labels["deploy-token"].rfind("<redacted:", 0), 0u) << labels["deploy-token"];
  EXPECT_FALSE(cache_.lookup("uid-other", ""));  // another node's pod was never asked for

  ASSERT_TRUE(eventually([&] { return watcher.state() == PodWatchState::watching && counter(watcher, "kube_api_watches") >= 1; }));
  standin_->control("POST", "/pods", pod("uid-c", "mcp-c", kNode, 'c').dump());
  ASSERT_TRUE(eventually([&] { return cache_.lookup("uid-c", "").has_value(); }));
  standin_->control("POST", "/pods", pod("uid-a", "mcp-a", kNode, 'a', {{"app", "mcp-a"}, {"tier", "gold"}}).dump());
  ASSERT_TRUE(eventually([&] {
    auto p = cache_.lookup("uid-a", "");
    return p && p->pod.labels.size() == 2 && p->pod.labels[1].first == "tier";
  }));
  EXPECT_EQ(cache_.size(), 2u);
  standin_->control("DELETE", "/pods/uid-c");
  ASSERT_TRUE(eventually([&] { return cache_.size() == 1; }));
  EXPECT_TRUE(cache_.lookup("uid-c", container_id('c')));  // deleted, still answering in the grace period
  standin_->control("POST", "/bookmark");
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_bookmarks") >= 1; }));
  EXPECT_EQ(counter(watcher, "kube_api_events"), 3u);
  EXPECT_EQ(counter(watcher, "kube_api_lists"), 1u);
  EXPECT_EQ(counter(watcher, "kube_api_errors"), 0u);

  json requests = standin_->requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0]["kind"], "list");
  for (const auto& r : requests) {
    EXPECT_EQ(r["query"]["fieldSelector"], "spec.nodeName=" + kNode);
    EXPECT_TRUE(r["authorized"].get<bool>());
  }
  EXPECT_EQ(requests[1]["kind"], "watch");
  EXPECT_EQ(requests[1]["query"]["allowWatchBookmarks"], "true");
  EXPECT_EQ(requests[1]["query"]["timeoutSeconds"], "30");
  EXPECT_EQ(requests[1]["query"]["resourceVersion"], "102");  // the LIST's version (two pods recorded from 100)
  watcher.stop();
  EXPECT_EQ(watcher.state(), PodWatchState::off);
}

TEST_F(KubeApiTest, GoneRelists) {
  PodWatcher watcher(standin_->options(), cache_);
  watcher.start();
  ASSERT_TRUE(watcher.wait_for_first_list(10s));
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_watches") >= 1; }));
  standin_->control("POST", "/expire");  // the open watch gets an ERROR event with code 410
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_relists") == 1; }));
  EXPECT_EQ(counter(watcher, "kube_api_gone"), 1u);
  ASSERT_TRUE(eventually([&] { return watcher.state() == PodWatchState::watching; }));
  standin_->control("POST", "/gone_http");  // the next watch answers HTTP 410
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_relists") == 2; }));
  EXPECT_EQ(counter(watcher, "kube_api_gone"), 2u);
  EXPECT_EQ(counter(watcher, "kube_api_errors"), 0u);
  standin_->control("POST", "/pods", pod("uid-d", "mcp-d", kNode, 'd').dump());
  EXPECT_TRUE(eventually([&] { return cache_.lookup("uid-d", "").has_value(); }));
  EXPECT_TRUE(cache_.lookup("uid-a", ""));  // the relists kept what the node has
}

TEST_F(KubeApiTest, CutConnectionReconnectsFromTheLastVersion) {
  PodWatcher watcher(standin_->options(), cache_);
  watcher.start();
  ASSERT_TRUE(watcher.wait_for_first_list(10s));
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_watches") >= 1; }));
  standin_->control("POST", "/pods", pod("uid-e", "mcp-e", kNode, 'e').dump());  // version 103
  ASSERT_TRUE(eventually([&] { return cache_.lookup("uid-e", "").has_value(); }));
  standin_->control("POST", "/drop");
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_watches") >= 2; }));
  EXPECT_EQ(counter(watcher, "kube_api_errors"), 1u);  // the cut transfer
  EXPECT_EQ(counter(watcher, "kube_api_lists"), 1u);   // resumed, not relisted
  standin_->control("POST", "/pods", pod("uid-f", "mcp-f", kNode, '9').dump());
  ASSERT_TRUE(eventually([&] { return cache_.lookup("uid-f", "").has_value(); }));
  json requests = standin_->requests();
  json last_watch;
  for (const auto& r : requests)
    if (r["kind"] == "watch") last_watch = r;
  EXPECT_EQ(last_watch["query"]["resourceVersion"], "103");
}

TEST_F(KubeApiTest, WrongTokenIsCountedAndTheRotatedTokenIsReadAgain) {
  std::ofstream(standin_->token_file()) << "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3cm9uZyJ9.d3Jvbmctc2lnbmF0dXJl\n";
  PodWatcher watcher(standin_->options(), cache_);
  watcher.start();
  ASSERT_TRUE(eventually([&] { return counter(watcher, "kube_api_unauthorized") >= 2; }));
  EXPECT_GE(counter(watcher, "kube_api_errors"), 2u);
  EXPECT_EQ(counter(watcher, "kube_api_lists"), 0u);
  EXPECT_FALSE(cache_.lookup("uid-a", ""));
  std::ofstream(standin_->token_file()) << kToken << "\n";  // the kubelet rotated the projected token
  ASSERT_TRUE(watcher.wait_for_first_list(10s));
  EXPECT_TRUE(cache_.lookup("uid-a", ""));
  json requests = standin_->requests();
  EXPECT_FALSE(requests[0]["authorized"].get<bool>());
  EXPECT_TRUE(requests.back()["authorized"].get<bool>());
}

TEST_F(KubeApiTest, UnreachableServerBacksOffAndStops) {
  PodWatchOptions options = standin_->options();
  options.api_server = "https://127.0.0.1:1";
  PodWatcher watcher(options, cache_);
  watcher.start();
  EXPECT_FALSE(watcher.wait_for_first_list(500ms));
  EXPECT_GE(counter(watcher, "kube_api_errors"), 1u);
  watcher.stop();
  EXPECT_EQ(watcher.state(), PodWatchState::off);
}

}  // namespace
}  // namespace credtrace::identity
