{{/* Pieces every pod of the release shares. */}}

{{/*
Pod-level settings: service account, security context, pull secrets. (dict "ctx" $ ["master" true]):
no pod mounts a token, except the master's when it publishes its results as a ConfigMap
(results.configMap): it runs as its own ServiceAccount, whose Role allows only that.
*/}}
{{- define "loadcluster.podCommon" -}}
{{- $v := .ctx.Values -}}
{{- if and .master $v.results.configMap.enabled -}}
serviceAccountName: {{ include "loadcluster.masterServiceAccountName" .ctx }}
automountServiceAccountToken: true
{{- else -}}
serviceAccountName: {{ include "loadcluster.serviceAccountName" .ctx }}
automountServiceAccountToken: false
{{- end }}
enableServiceLinks: false
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A container's image, pull policy and security context. */}}
{{- define "loadcluster.containerCommon" -}}
image: {{ include "loadcluster.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}

{{/* Node placement of a component: its values map (nodeSelector, tolerations, affinity). */}}
{{- define "loadcluster.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Environment both the master and the workers get: extraEnv, then the target's credentials. */}}
{{- define "loadcluster.sharedEnv" -}}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- $secret := .Values.targetSecret.existingSecret }}
{{- range $name, $key := .Values.targetSecret.keys }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}

{{/* envFrom: the whole target Secret when no keys are picked. */}}
{{- define "loadcluster.sharedEnvFrom" -}}
{{- if and .Values.targetSecret.existingSecret (not .Values.targetSecret.keys) }}
envFrom:
  - secretRef:
      name: {{ .Values.targetSecret.existingSecret }}
{{- end }}
{{- end }}

{{/* The locustfiles' volume mount, when the release brings its own (over the image's copy). */}}
{{- define "loadcluster.locustfilesMount" -}}
{{- if include "loadcluster.customLocustfiles" . }}
- name: locustfiles
  mountPath: /opt/loadcluster/locust
  readOnly: true
{{- end }}
{{- end }}

{{- define "loadcluster.locustfilesVolume" -}}
{{- if include "loadcluster.customLocustfiles" . }}
- name: locustfiles
  configMap:
    name: {{ include "loadcluster.locustfilesName" . }}
{{- end }}
{{- end }}

{{/* Pod annotations of the nodes that load the locustfiles: roll on a change of them. */}}
{{- define "loadcluster.locustfilesChecksum" -}}
{{- if .Values.locustfiles.files }}
checksum/locustfiles: {{ include (print .Template.BasePath "/locustfiles-configmap.yaml") . | sha256sum }}
{{- else if .Values.locustfiles.existingConfigMap }}
checksum/locustfiles: {{ .Values.locustfiles.existingConfigMap | sha256sum }}
{{- end }}
{{- end }}

{{/*
checkov annotations (checkov.io/skipN) of a workload, with the reason for each skip. `extra` adds
the workload's own: (dict "ctx" $ "extra" (list "CKV_K8S_8=...")); "secretEnv" true for the
workloads that get the target's credentials as env.
*/}}
{{- define "loadcluster.checkovSkips" -}}
{{- $skips := list "CKV_K8S_15=IfNotPresent on purpose: the tag is a release (never latest, pinned by digest when image.digest is set), and an air-gapped cluster has the image preloaded" }}
{{- if not .ctx.Values.image.digest }}
{{- $skips = append $skips "CKV_K8S_43=the digest is optional (image.digest): a locally built loadcluster image has none until it is pushed" }}
{{- end }}
{{- if and .secretEnv .ctx.Values.targetSecret.existingSecret }}
{{- $skips = append $skips "CKV_K8S_35=the locustfiles read the target's credentials from environment variables (targetSecret)" }}
{{- end }}
{{- range $i, $skip := concat $skips (.extra | default list) }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end }}
{{- end }}
