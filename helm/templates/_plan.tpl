{{/*
The run as the chart resolves it from the values and the scenario catalogue, by the rules of
`loadcluster run` (src/loadcluster/plan.py; tests/test_chart.py renders every preset of every suite
and compares with the CLI's own plan). Returned as YAML, read it with
    {{- $plan := include "loadcluster.plan" . | fromYaml }}
Keys: suite, scenario (as the master gets them, "" for none), users, spawnRate, duration,
durationSeconds (absent when unknown: a preset in locustfiles.existingConfigMap), workers,
spawnPerWorker, masterLocustfile, workerLocustfile, host ("" for the user classes' own), demoTarget,
deadlineSeconds.
*/}}
{{- define "loadcluster.plan" -}}
{{- include "loadcluster.validate" . }}
{{- $v := .Values }}
{{- $root := "/opt/loadcluster/locust" }}
{{- $custom := include "loadcluster.customLocustfiles" . }}
{{- $catalogueText := "" }}
{{- if $v.locustfiles.existingConfigMap }}
{{- else if $v.locustfiles.files }}
{{- $catalogueText = index $v.locustfiles.files "scenarios.yaml" | default "" }}
{{- else }}
{{- $catalogueText = .Files.Get "files/scenarios.yaml" }}
{{- if not $catalogueText }}
{{- fail "files/scenarios.yaml is missing from the chart: it is a link to locust/scenarios.yaml; package the chart from a checkout of the repository" }}
{{- end }}
{{- end }}
{{- $suiteName := $v.suite | default "" | toString }}
{{- $scenarioName := $v.scenario | default "" | toString }}
{{- $preset := dict }}
{{- $suite := dict }}
{{- if $catalogueText }}
{{- $catalogue := fromYaml $catalogueText }}
{{- if or (hasKey $catalogue "Error") (not (kindIs "map" $catalogue.suites)) }}
{{- fail (printf "the scenario catalogue (scenarios.yaml) has no suites mapping: %s" ($catalogue.Error | default "")) }}
{{- end }}
{{- $suites := $catalogue.suites }}
{{- $names := keys $suites | sortAlpha }}
{{- if $suiteName }}
{{- if not (hasKey $suites $suiteName) }}
{{- fail (printf "suite '%s' is not in the scenario catalogue: use one of %s" $suiteName (join ", " $names)) }}
{{- end }}
{{- if and $scenarioName (not (hasKey (index $suites $suiteName).scenarios $scenarioName)) }}
{{- fail (printf "scenario '%s' is not in suite '%s': use one of %s" $scenarioName $suiteName (join ", " (keys (index $suites $suiteName).scenarios | sortAlpha))) }}
{{- end }}
{{- else }}
{{- /* The catalogue's first suite, in the file's order (a YAML mapping read here has none). */}}
{{- $after := last (splitList "\nsuites:" (print "\n" $catalogueText)) }}
{{- $first := regexFind "(?m)^[ \t]+[^ \t#\n][^:\n]*:" $after | trim | trimSuffix ":" | trimAll "\"'" }}
{{- if not (hasKey $suites $first) }}
{{- fail "cannot tell the catalogue's first suite: write `suites:` as a block mapping, one suite per indented key" }}
{{- end }}
{{- $suiteName = $first }}
{{- if and $scenarioName (not (hasKey (index $suites $first).scenarios $scenarioName)) }}
{{- $owners := list }}
{{- range $name := $names }}
{{- if hasKey (index $suites $name).scenarios $scenarioName }}
{{- $owners = append $owners $name }}
{{- end }}
{{- end }}
{{- if ne (len $owners) 1 }}
{{- $every := list }}
{{- range $s := values $suites }}{{ $every = concat $every (keys $s.scenarios) }}{{ end }}
{{- fail (printf "scenario '%s' is not in the catalogue: use one of %s" $scenarioName (join ", " ($every | uniq | sortAlpha))) }}
{{- end }}
{{- $suiteName = first $owners }}
{{- end }}
{{- end }}
{{- $suite = index $suites $suiteName }}
{{- if $scenarioName }}
{{- $preset = index $suite.scenarios $scenarioName }}
{{- end }}
{{- else if $v.locustfiles.files }}
{{- if or $suiteName $scenarioName }}
{{- fail "locustfiles.files has no scenarios.yaml, so it has no suites or scenarios: set scenario=\"\" and suite=\"\" and give users and duration (an ad-hoc run), or add a scenarios.yaml to locustfiles.files" }}
{{- end }}
{{- end }}
{{- $adHoc := not $scenarioName }}
{{- $presetKnown := and $scenarioName $catalogueText }}

{{- /* users, duration, spawn rate, time scale, workers: the value, else the preset's (plan.build_plan). */}}
{{- $users := 0 }}
{{- if and (not (kindIs "invalid" $v.users)) (ne (toString $v.users) "") }}
{{- $users = int $v.users }}
{{- else if $presetKnown }}
{{- $users = int $preset.users }}
{{- else if $adHoc }}
{{- fail "users is required for an ad-hoc run (scenario \"\"): set users and duration, e.g. --set users=50,duration=5m" }}
{{- end }}
{{- $duration := "" }}
{{- if and (not (kindIs "invalid" $v.duration)) (ne (toString $v.duration) "") }}
{{- $duration = toString $v.duration | trim }}
{{- else if $presetKnown }}
{{- $duration = toString $preset.duration }}
{{- else if $adHoc }}
{{- fail "duration is required for an ad-hoc run (scenario \"\"): set users and duration, e.g. --set users=50,duration=5m" }}
{{- end }}
{{- $seconds := "" }}
{{- if $duration }}
{{- $seconds = include "loadcluster.durationSeconds" $duration }}
{{- if or (eq $seconds "invalid") (le (float64 $seconds) 0.0) }}
{{- fail (printf "duration '%s' is not a duration: use a positive number of seconds or units h/m/s, e.g. 90, 30s, 5m, 1h30m" $duration) }}
{{- end }}
{{- end }}
{{- $spawnRate := 0.0 }}
{{- if and (not (kindIs "invalid" $v.spawnRate)) (ne (toString $v.spawnRate) "") }}
{{- $spawnRate = float64 $v.spawnRate }}
{{- else if and $presetKnown (not (kindIs "invalid" $preset.spawn_rate)) }}
{{- $spawnRate = float64 $preset.spawn_rate }}
{{- else if $users }}
{{- $spawnRate = divf $users 10 }}
{{- end }}
{{- $timeScale := 1.0 }}
{{- if and (not (kindIs "invalid" $v.timeScale)) (ne (toString $v.timeScale) "") }}
{{- $timeScale = float64 $v.timeScale }}
{{- end }}
{{- if and $seconds (lt (mulf $seconds $timeScale) 1.0) }}
{{- fail (printf "duration %s at timeScale %v is under 1s: raise duration or timeScale" $duration $timeScale) }}
{{- end }}
{{- $workers := 0 }}
{{- if and (not (kindIs "invalid" $v.workers)) (ne (toString $v.workers) "") }}
{{- $workers = int $v.workers }}
{{- else if $users }}
{{- /* Enough workers that none starts more than 100 users a second (plan._workers). */}}
{{- $presetWorkers := 2 }}
{{- if $presetKnown }}
{{- $presetWorkers = int ($preset.workers | default 1) }}
{{- end }}
{{- $needed := divf $spawnRate 100 | ceil | int }}
{{- $workers = min $users (max $presetWorkers $needed) }}
{{- else }}
{{- fail "workers is required with a preset in locustfiles.existingConfigMap: the chart cannot read that ConfigMap's scenarios.yaml, so set workers (the master waits for exactly that many)" }}
{{- end }}
{{- if and $users (gt $workers $users) }}
{{- fail (printf "workers %d is more than users %d: each worker needs a user at least" $workers $users) }}
{{- end }}

{{- /* Where the locustfiles are: a directory with a catalogue for the master, the suite's file for workers. */}}
{{- $masterLocustfile := $root }}
{{- $workerLocustfile := $root }}
{{- if $v.locustfiles.locustfile }}
{{- $listed := list }}
{{- range $file := splitList "," $v.locustfiles.locustfile }}
{{- if trim $file }}{{ $listed = append $listed (printf "%s/%s" $root (trim $file)) }}{{ end }}
{{- end }}
{{- $workerLocustfile = join "," $listed }}
{{- if not $catalogueText }}
{{- $masterLocustfile = $workerLocustfile }}
{{- end }}
{{- else if $catalogueText }}
{{- $file := toString $suite.locustfile }}
{{- if and $v.locustfiles.files (not (hasKey $v.locustfiles.files $file)) }}
{{- fail (printf "locustfiles.files: the catalogue's suite '%s' loads '%s', which is not among the files (%s)" $suiteName $file (join ", " (keys $v.locustfiles.files | sortAlpha))) }}
{{- end }}
{{- $workerLocustfile = printf "%s/%s" $root $file }}
{{- else if $v.locustfiles.files }}
{{- /* No catalogue: every .py file, as a directory scan would take them (helpers start with "_"). */}}
{{- $listed := list }}
{{- range $file := keys $v.locustfiles.files | sortAlpha }}
{{- if and (hasSuffix ".py" $file) (not (hasPrefix "_" $file)) }}{{ $listed = append $listed (printf "%s/%s" $root $file) }}{{ end }}
{{- end }}
{{- if not $listed }}
{{- fail "locustfiles.files holds no .py file (files starting with \"_\" are helpers): add your locustfile with --set-file 'locustfiles.files.my_test\\.py=my_test.py'" }}
{{- end }}
{{- $masterLocustfile = join "," $listed }}
{{- $workerLocustfile = $masterLocustfile }}
{{- else }}
{{- fail "locustfiles.locustfile is required with locustfiles.existingConfigMap: the .py file(s) of the ConfigMap the workers load, e.g. my_test.py (the chart cannot read the ConfigMap)" }}
{{- end }}

{{- /* The target: host, else the demo target for the shipped plans, else the user classes' own. */}}
{{- $demoTarget := and (not $v.host) (not $custom) }}
{{- $host := $v.host | default "" | trimSuffix "/" }}
{{- if $demoTarget }}
{{- $host = printf "http://%s:8080" (include "loadcluster.targetName" .) }}
{{- end }}

{{- /* An upper bound of the run, for the Jobs' activeDeadlineSeconds. */}}
{{- $stopTimeout := 5.0 }}
{{- if and (not (kindIs "invalid" $v.stopTimeout)) (ne (toString $v.stopTimeout) "") }}
{{- $stopTimeout = float64 $v.stopTimeout }}
{{- end }}
{{- $deadline := 86400 }}
{{- if $seconds }}
{{- $waits := add $v.master.expectWorkersWait $v.targetWaitSeconds $v.master.statsLinger 600 }}
{{- $deadline = addf (mulf $seconds $timeScale) $stopTimeout $waits | ceil | int }}
{{- end }}

{{- $plan := dict "suite" $suiteName "scenario" $scenarioName }}
{{- if $users }}{{ $_ := set $plan "users" $users }}{{ end }}
{{- if $spawnRate }}
{{- $_ := set $plan "spawnRate" (toString $spawnRate) }}
{{- $_ := set $plan "spawnPerWorker" (divf $spawnRate $workers) }}
{{- end }}
{{- if $duration }}
{{- $_ := set $plan "duration" $duration }}
{{- $_ := set $plan "durationSeconds" (float64 $seconds) }}
{{- end }}
{{- $_ := set $plan "workers" $workers }}
{{- $_ := set $plan "masterLocustfile" $masterLocustfile }}
{{- $_ := set $plan "workerLocustfile" $workerLocustfile }}
{{- $_ := set $plan "host" $host }}
{{- $_ := set $plan "demoTarget" $demoTarget }}
{{- $_ := set $plan "deadlineSeconds" $deadline }}
{{- toYaml $plan }}
{{- end }}

{{/*
A duration as the CLI reads it (units.parse_duration): "90", "90s", "5m", "1h30m" -> seconds, as text;
"invalid" when it is none of these.
*/}}
{{- define "loadcluster.durationSeconds" -}}
{{- $raw := . | toString | trim | lower }}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $raw }}
{{- $raw }}
{{- else if and $raw (regexMatch "^([0-9]+(\\.[0-9]+)?h)?([0-9]+(\\.[0-9]+)?m)?([0-9]+(\\.[0-9]+)?s)?$" $raw) }}
{{- $h := regexFind "[0-9.]+h" $raw | trimSuffix "h" | default "0" }}
{{- $m := regexFind "[0-9.]+m" $raw | trimSuffix "m" | default "0" }}
{{- $s := regexFind "[0-9.]+s" $raw | trimSuffix "s" | default "0" }}
{{- addf (mulf $h 3600) (mulf $m 60) $s }}
{{- else }}
{{- "invalid" }}
{{- end }}
{{- end }}
