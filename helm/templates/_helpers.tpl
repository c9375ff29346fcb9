{{/*
Names, labels and the image. Resource names are cut to 63 characters (DNS labels) with the
component's suffix kept whole.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "loadcluster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or the release name when it already holds the chart name, or fullnameOverride. */}}
{{- define "loadcluster.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A component's resource name: (dict "ctx" $ "component" "master" ["reserve" 5]). `reserve` keeps
room for what Kubernetes appends (an Indexed Job's pod hostnames end in -<index>).
*/}}
{{- define "loadcluster.componentName" -}}
{{- $room := sub (sub 62 (len .component)) (.reserve | default 0) | int }}
{{- printf "%s-%s" (include "loadcluster.fullname" .ctx | trunc $room | trimSuffix "-") .component }}
{{- end }}

{{- define "loadcluster.masterName" -}}
{{- include "loadcluster.componentName" (dict "ctx" . "component" "master") }}
{{- end }}

{{- define "loadcluster.workerName" -}}
{{- include "loadcluster.componentName" (dict "ctx" . "component" "worker" "reserve" 5) }}
{{- end }}

{{- define "loadcluster.exporterName" -}}
{{- include "loadcluster.componentName" (dict "ctx" . "component" "exporter") }}
{{- end }}

{{- define "loadcluster.targetName" -}}
{{- include "loadcluster.componentName" (dict "ctx" . "component" "target") }}
{{- end }}

{{- define "loadcluster.locustfilesName" -}}
{{- if .Values.locustfiles.existingConfigMap }}
{{- .Values.locustfiles.existingConfigMap }}
{{- else }}
{{- include "loadcluster.componentName" (dict "ctx" . "component" "locustfiles") }}
{{- end }}
{{- end }}

{{/* The ConfigMap the master publishes its results as (results.configMap). */}}
{{- define "loadcluster.resultsConfigMapName" -}}
{{- include "loadcluster.componentName" (dict "ctx" . "component" "results") }}
{{- end }}

{{/* The master's own ServiceAccount (results.configMap): the only identity that may write it. */}}
{{- define "loadcluster.masterServiceAccountName" -}}
{{- include "loadcluster.masterName" . }}
{{- end }}

{{- define "loadcluster.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loadcluster.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "loadcluster.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name and instance only (a selector cannot change after install). */}}
{{- define "loadcluster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loadcluster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "loadcluster.labels" -}}
helm.sh/chart: {{ include "loadcluster.chart" . }}
{{ include "loadcluster.selectorLabels" . }}
app.kubernetes.io/version: {{ include "loadcluster.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: loadcluster
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A component's selector labels: (dict "ctx" $ "component" "master|worker|exporter|target|test"). */}}
{{- define "loadcluster.componentSelectorLabels" -}}
{{ include "loadcluster.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* A component's labels: (dict "ctx" $ "component" "..."). */}}
{{- define "loadcluster.componentLabels" -}}
{{ include "loadcluster.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* metadata.namespace of namespaced resources (explicit, so plain manifests carry it too). */}}
{{- define "loadcluster.namespace" -}}
{{ .Release.Namespace }}
{{- end }}

{{- define "loadcluster.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is set. */}}
{{- define "loadcluster.image" -}}
{{- $image := printf "%s:%s" .Values.image.repository (include "loadcluster.imageTag" .) }}
{{- if .Values.image.digest }}
{{- $image = printf "%s@%s" $image .Values.image.digest }}
{{- end }}
{{- $image }}
{{- end }}

{{/* Whether the release brings its own locustfiles ("true" or ""). */}}
{{- define "loadcluster.customLocustfiles" -}}
{{- if or .Values.locustfiles.files .Values.locustfiles.existingConfigMap }}true{{ end }}
{{- end }}

{{/* tags, excludeTags, userClasses: a comma-separated string or a list, as one comma-separated string. */}}
{{- define "loadcluster.names" -}}
{{- if kindIs "slice" . }}
{{- join "," . }}
{{- else if not (kindIs "invalid" .) }}
{{- . | toString | trim }}
{{- end }}
{{- end }}

{{/* Labels naming the run (on the Jobs and their pods, never in selectors): the resolved plan. */}}
{{- define "loadcluster.runLabels" -}}
loadcluster.io/suite: {{ include "loadcluster.labelValue" (.suite | default "custom") }}
loadcluster.io/scenario: {{ include "loadcluster.labelValue" (.scenario | default "custom") }}
{{- end }}

{{/* Any text as a valid label value. */}}
{{- define "loadcluster.labelValue" -}}
{{- regexReplaceAll "[^A-Za-z0-9_.-]" (toString .) "-" | trunc 63 | trimAll "-_." | quote }}
{{- end }}
