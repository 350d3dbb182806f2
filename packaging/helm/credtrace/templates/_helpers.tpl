{{/* Names, labels, image references, derived paths and the value checks that refuse an unusable release. */}}

{{- define "credtrace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "credtrace.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "credtrace.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "credtrace.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "credtrace.agentName" -}}
{{- printf "%s-agent" (include "credtrace.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "credtrace.collectorName" -}}
{{- printf "%s-collector" (include "credtrace.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "credtrace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "credtrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: credtrace
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "agent") */}}
{{- define "credtrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "credtrace.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "credtrace.componentLabels" -}}
{{ include "credtrace.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "credtrace.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "credtrace.agentServiceAccount" -}}
{{- default (include "credtrace.agentName" .) .Values.agent.serviceAccount.name -}}
{{- end -}}

{{- define "credtrace.priorityClassName" -}}
{{- if .Values.agent.priorityClass.create -}}
{{- default (printf "%s-node-critical" (include "credtrace.fullname" .)) .Values.agent.priorityClass.name -}}
{{- else -}}
{{- .Values.agent.priorityClass.name -}}
{{- end -}}
{{- end -}}

{{/* The agent's collector URL: the value, else the in-cluster Service (always https), else empty (no collector). */}}
{{- define "credtrace.agentCollectorURL" -}}
{{- if .Values.agent.collector.url -}}
{{- .Values.agent.collector.url -}}
{{- else if .Values.collector.enabled -}}
{{- printf "https://%s.%s.svc:%d" (include "credtrace.collectorName" .) .Release.Namespace (int .Values.collector.port) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the CA of the collector's certificate, for the agent (empty: system CAs). */}}
{{- define "credtrace.agentCASecret" -}}
{{- if .Values.agent.collector.ca.existingSecret -}}
{{- .Values.agent.collector.ca.existingSecret -}}
{{- else if and .Values.collector.enabled (not .Values.agent.collector.url) -}}
{{- .Values.collector.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Paths inside the agent container. */}}
{{- define "credtrace.agentPaths" -}}
config: /etc/credtrace/credtrace.yaml
fleetKey: /etc/credtrace/fleet/fleet.key
token: /etc/credtrace/collector/token/token
ca: /etc/credtrace/collector/ca/ca.crt
clientCert: /etc/credtrace/collector/client/tls.crt
clientKey: /etc/credtrace/collector/client/tls.key
procRoot: /host/proc
state: /var/lib/credtrace
{{- end -}}

{{/* The agent's probe config: the user's agent.config with the keys the chart owns laid over it. */}}
{{- define "credtrace.agentConfig" -}}
{{- $paths := include "credtrace.agentPaths" . | fromYaml -}}
{{- $owned := dict "proc_root" $paths.procRoot "state_dir" $paths.state -}}
{{- if .Values.agent.fleetKey.existingSecret -}}
{{- $_ := set $owned "fingerprint" (dict "key_file" $paths.fleetKey) -}}
{{- end -}}
{{- $url := include "credtrace.agentCollectorURL" . -}}
{{- if $url -}}
{{- $collector := dict "url" $url -}}
{{- if .Values.agent.collector.token.existingSecret -}}{{- $_ := set $collector "token_file" $paths.token -}}{{- end -}}
{{- if include "credtrace.agentCASecret" . -}}{{- $_ := set $collector "ca_file" $paths.ca -}}{{- end -}}
{{- if .Values.agent.collector.clientCert.existingSecret -}}
{{- $_ := set $collector "cert_file" $paths.clientCert -}}
{{- $_ := set $collector "key_file" $paths.clientKey -}}
{{- end -}}
{{- $_ := set $owned "collector" $collector -}}
{{- end -}}
{{- if .Values.agent.metrics.enabled -}}
{{- $_ := set $owned "metrics" (dict "enabled" true "listen" (printf "0.0.0.0:%d" (int .Values.agent.metrics.port))) -}}
{{- end -}}
{{- $_ := set $owned "kubernetes" (dict "api_watch" .Values.agent.kubernetes.apiWatch) -}}
{{- if not .Values.agent.hostPaths.preloadSocket -}}
{{- $_ := set $owned "preload" (dict "enabled" false) -}}
{{- end -}}
{{- $config := mergeOverwrite (deepCopy (default (dict) .Values.agent.config)) $owned -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Refuses values that would render a release that cannot work or that would leak key material. */}}
{{- define "credtrace.validate" -}}
{{- $fp := default (dict) .Values.agent.config.fingerprint -}}
{{- if hasKey $fp "key" -}}
{{- fail "agent.config.fingerprint.key: key material never goes in a ConfigMap; put the key in a Secret and name it in agent.fleetKey.existingSecret" -}}
{{- end -}}
{{- $col := default (dict) .Values.agent.config.collector -}}
{{- range $k := list "url" "token_file" "ca_file" "cert_file" "key_file" -}}
{{- if hasKey $col $k -}}
{{- fail (printf "agent.config.collector.%s: set by the chart; use agent.collector.* instead" $k) -}}
{{- end -}}
{{- end -}}
{{- $url := include "credtrace.agentCollectorURL" . -}}
{{- if and $url (not (hasPrefix "https://" $url)) -}}
{{- fail (printf "agent.collector.url %q: the agent sends plain http only to loopback; give an https:// URL" $url) -}}
{{- end -}}
{{- if .Values.collector.enabled -}}
{{- if not .Values.collector.tls.existingSecret -}}
{{- fail "collector.tls.existingSecret is empty: the collector serves plain HTTP only on loopback and agents send plain HTTP only to loopback, so a collector Service without TLS cannot be used. Give a kubernetes.io/tls Secret, or set collector.enabled=false (agents then log events only, or send to agent.collector.url)" -}}
{{- end -}}
{{- if and (gt (int .Values.collector.replicas) 1) (eq .Values.collector.database.type "sqlite") -}}
{{- fail (printf "collector.replicas=%d with collector.database.type=sqlite: one SQLite file serves one collector; use collector.database.type=postgres for several replicas" (int .Values.collector.replicas)) -}}
{{- end -}}
{{- if and (eq .Values.collector.database.type "postgres") (not .Values.collector.database.postgres.existingSecret) -}}
{{- fail "collector.database.type=postgres needs collector.database.postgres.existingSecret (a Secret holding the postgres:// URI)" -}}
{{- end -}}
{{- if and (not .Values.collector.agentTokens.existingSecret) (not .Values.collector.tls.clientCA.existingSecret) -}}
{{- fail "agents cannot authenticate to the collector: give collector.agentTokens.existingSecret, collector.tls.clientCA.existingSecret (mTLS), or both" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The collector's config file. The PostgreSQL URI is read from a file (db_file): never in argv or environment. */}}
{{- define "credtrace.collectorConfig" -}}
{{- $c := .Values.collector -}}
{{- $config := dict "listen" (printf "0.0.0.0:%d" (int $c.port)) "retention_days" (int $c.retentionDays) "threads" (int $c.threads) -}}
{{- if eq $c.database.type "postgres" -}}
{{- $_ := set $config "db_file" "/etc/credtrace-collector/db/uri" -}}
{{- else -}}
{{- $_ := set $config "db" "sqlite:/var/lib/credtrace-collector/collector.db" -}}
{{- end -}}
{{- $tls := dict "cert" "/etc/credtrace-collector/tls/tls.crt" "key" "/etc/credtrace-collector/tls/tls.key" -}}
{{- if $c.tls.clientCA.existingSecret -}}
{{- $_ := set $tls "client_ca" "/etc/credtrace-collector/client-ca/ca.crt" -}}
{{- end -}}
{{- $_ := set $config "tls" $tls -}}
{{- if $c.agentTokens.existingSecret -}}
{{- $_ := set $config "agent_tokens_file" "/etc/credtrace-collector/agent-tokens/tokens" -}}
{{- end -}}
{{- if $c.readerTokens.existingSecret -}}
{{- $_ := set $config "reader_tokens_file" "/etc/credtrace-collector/reader-tokens/tokens" -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
