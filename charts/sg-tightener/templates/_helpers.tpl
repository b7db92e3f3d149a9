{{/* Chart name, overridable. */}}
{{- define "sg-tightener.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped full name, at most 63 characters. */}}
{{- define "sg-tightener.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "sg-tightener.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sg-tightener.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sg-tightener
{{- end }}

{{/* Labels that select the controller pods. */}}
{{- define "sg-tightener.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sg-tightener.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The service account the controller runs as. */}}
{{- define "sg-tightener.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sg-tightener.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The four kinds' resource names. */}}
{{- define "sg-tightener.kinds" -}}
- securitygrouptightenings
- breakglassextensions
- orgriskscans
- securitygroupcompactions
{{- end }}

{{/* Their status subresources. */}}
{{- define "sg-tightener.kindStatuses" -}}
- securitygrouptightenings/status
- breakglassextensions/status
- orgriskscans/status
- securitygroupcompactions/status
{{- end }}

{{/* What the operator calls in the namespaces it watches: exactly the rules of
     sg_tightener::controller::access::WATCHED (an e2e test compares them), each with its reason. */}}
{{- define "sg-tightener.operatorRules" -}}
# list, watch: one controller per kind; patch: the finalizer sgtightener.io/cleanup (JSON patch).
- apiGroups: ["sgtightener.io"]
  resources:
    {{- include "sg-tightener.kinds" . | nindent 4 }}
  verbs: ["list", "watch", "patch"]
# patch: the status, by server-side apply.
- apiGroups: ["sgtightener.io"]
  resources:
    {{- include "sg-tightener.kindStatuses" . | nindent 4 }}
  verbs: ["patch"]
# Events on transitions: kube's Recorder creates an event, and patches its series when it repeats.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# Write-ahead apply manifests (they outlive their resource), scan reports, the ip-ranges.json
# cache: read by name, written by server-side apply (create when new, patch after); a resource's
# manifests listed by label (status.applied is recovered from them) and the oldest deleted
# beyond manifests.keep.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "create", "patch", "delete"]
# get: a group claim's holder still exists (else its claim is taken over).
- apiGroups: ["sgtightener.io"]
  resources: ["securitygrouptightenings", "securitygroupcompactions"]
  verbs: ["get"]
{{- end }}

{{/* The controller image: repository@digest when a digest is set, else repository:tag. */}}
{{- define "sg-tightener.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}
