{{/*
Combinations of values that values.schema.json cannot refuse, each failing the install with one line
naming the keys. (The plan's own checks, unknown suites and scenarios, missing users, are in _plan.tpl.)
Included by loadcluster.plan, which every template that renders a pod reads first.
*/}}
{{- define "loadcluster.validate" -}}
{{- $v := .Values }}
{{- if $v.ui.enabled }}
{{- fail "ui.enabled: Locust's web UI is not available from this chart yet: it must not be served without a login, and loadcluster ships no login provider for Locust's --web-login. Leave ui.enabled false (headless runs), or use `make up` on your machine" }}
{{- end }}
{{- if and $v.locustfiles.files $v.locustfiles.existingConfigMap }}
{{- fail "locustfiles.files and locustfiles.existingConfigMap are both set: use one of them" }}
{{- end }}
{{- if and $v.locustfiles.locustfile $v.locustfiles.files }}
{{- fail "locustfiles.locustfile is for locustfiles.existingConfigMap: with locustfiles.files the chart finds the locustfiles itself" }}
{{- end }}
{{- if and $v.locustfiles.locustfile (not $v.locustfiles.existingConfigMap) }}
{{- fail "locustfiles.locustfile is set without locustfiles.existingConfigMap: it names files of that ConfigMap" }}
{{- end }}
{{- $bytes := 0 }}
{{- range $name, $content := $v.locustfiles.files }}
{{- $bytes = add $bytes (len (toString $content)) }}
{{- end }}
{{- if gt $bytes 1048576 }}
{{- fail (printf "locustfiles.files: %d bytes in all, too large for a ConfigMap (1 MiB at most): bake the files into your own image (FROM loadcluster, COPY them to /opt/loadcluster/locust) and set image.repository" $bytes) }}
{{- end }}
{{- if and $v.targetSecret.keys (not $v.targetSecret.existingSecret) }}
{{- fail "targetSecret.keys is set without targetSecret.existingSecret: name the Secret that holds those keys" }}
{{- end }}
{{- if and $v.serviceMonitor.enabled $v.podMonitor.enabled }}
{{- fail "serviceMonitor.enabled and podMonitor.enabled are both true: Prometheus would scrape the exporter twice; enable one" }}
{{- end }}
{{- if and (or $v.serviceMonitor.enabled $v.podMonitor.enabled) (not $v.exporter.enabled) }}
{{- fail "serviceMonitor.enabled or podMonitor.enabled needs exporter.enabled: without the exporter there is nothing to scrape" }}
{{- end }}
{{- end }}
