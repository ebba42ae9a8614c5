#!/usr/bin/env bash
# Installs what the documents tests and benchmark need beyond Rust, once; quiet and idempotent:
#   - LibreOffice (Impress, Writer, Calc) and python3-uno: office → PDF;
#   - unoserver (PyPI) in a venv that sees python3-uno (--system-site-packages), at
#     $LECTERN_UNOSERVER_VENV (default /opt/lectern-unoserver, where `lectern serve` looks);
#   - python-pptx and python-docx in the same venv: the tests generate their decks with them;
#   - poppler-utils and mupdf-tools: the fallback renderers, and BigBlueButton's tools for the
#     benchmark;
#   - fonts, so converted office documents have glyphs to draw.
set -euo pipefail

VENV=${LECTERN_UNOSERVER_VENV:-/opt/lectern-unoserver}
UNOSERVER_VERSION=3.7
PACKAGES=(libreoffice-impress libreoffice-writer libreoffice-calc python3-uno python3-venv
    poppler-utils mupdf-tools fonts-dejavu-core fonts-liberation2 util-linux)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "documents setup: installing ${missing[*]} (apt-get)" >&2
    log=$(mktemp)
    if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        exit 1
    fi
    rm -f "$log"
fi

# Debian's python3 (not another interpreter on PATH): python3-uno is built for it.
if ! "$VENV/bin/python" -c 'import uno, unoserver, pptx, docx' 2>/dev/null; then
    echo "documents setup: creating $VENV (unoserver, python-pptx, python-docx)" >&2
    $sudo /usr/bin/python3 -m venv --system-site-packages "$VENV"
    $sudo "$VENV/bin/pip" install -q --disable-pip-version-check \
        "unoserver==$UNOSERVER_VERSION" "python-pptx==1.0.2" "python-docx==1.2.0"
fi
