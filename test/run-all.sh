#!/usr/bin/env bash
# Every check the project has, in order, ending with one line "N passed, N failed, N skipped".
# Lint, typecheck and the build count as one check each; every vitest and python test counts as one.
set -uo pipefail
cd "$(dirname "$0")/.."

# Keys are tested against a real keychain: a private D-Bus session with an unlocked gnome-keyring.
# Its keyring files go to a fresh XDG_DATA_HOME so a keyring left by an earlier run (with another password) never prompts.
if [ -z "${IMAGEBENCH_IN_KEYRING:-}" ] && command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  keyring_home=$(mktemp -d -t imagebench-keyring-XXXXXX)
  trap 'rm -rf "$keyring_home"' EXIT
  env IMAGEBENCH_IN_KEYRING=1 XDG_DATA_HOME="$keyring_home" dbus-run-session -- bash -c 'echo -n imagebench-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec bash test/run-all.sh'
  exit $?
fi
[ -n "${IMAGEBENCH_IN_KEYRING:-}" ] || echo "note: dbus-run-session/gnome-keyring not found; keychain tests will report the keychain as unavailable" >&2

mkdir -p test-results
passed=0 failed=0 skipped=0
step() {
  local name=$1; shift
  echo "── $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name" >&2; fi
}

step "lint (eslint + import layering)" npx eslint .
step "typecheck (node, main, preload, renderer, tests)" npm run --silent typecheck
step "build (node + renderer)" npm run --silent build

if /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null && [ -d native-models/tools ] && ls native-models/tools/test_*.py >/dev/null 2>&1; then
  echo "── python reference tests"
  if /usr/bin/python3 -m unittest discover -s native-models/tools -p 'test_*.py' 2>test-results/python.log; then :; fi
  cat test-results/python.log
  read -r py_pass py_fail < <(/usr/bin/python3 - <<'PY'
import re
log = open('test-results/python.log').read()
ran = int((re.search(r'Ran (\d+) test', log) or [0, 0])[1])
failed = sum(int(n) for n in re.findall(r'(?:failures|errors)=(\d+)', log))
print(ran - failed, failed)
PY
)
  passed=$((passed + py_pass)); failed=$((failed + py_fail))
fi

echo "── vitest (unit + end-to-end)"
VITEST=(npx vitest run); [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null && VITEST=(xvfb-run -a npx vitest run)
"${VITEST[@]}" --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
read -r v_pass v_fail v_skip < <(node -e '
  const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
  const brokenFiles = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  console.log(r.numPassedTests, r.numFailedTests + brokenFiles, r.numPendingTests + r.numTodoTests);
' 2>/dev/null || echo "0 1 0")
passed=$((passed + v_pass)); failed=$((failed + v_fail)); skipped=$((skipped + v_skip))

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
