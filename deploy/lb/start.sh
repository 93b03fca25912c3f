#!/bin/sh
# Start HAProxy with a certificate: the one mounted in /certs, or one generated here at first start
# (self-signed, for the drill and a first look; mount a real one for production).
set -eu
umask 077  # the private key stays the load balancer's
CERTS_DIR="${CERTS_DIR:-/certs}"
# A certificate made here by an earlier release (before the marker): self-signed for the stack's own name.
if [ -s "${CERTS_DIR}/lb.crt" ] && [ ! -e "${CERTS_DIR}/self-made" ] \
    && [ "$(openssl x509 -noout -subject -in "${CERTS_DIR}/lb.crt")" = "subject=CN = ${LB_HOSTNAME:-lb}" ] \
    && [ "$(openssl x509 -noout -issuer -in "${CERTS_DIR}/lb.crt")" = "issuer=CN = ${LB_HOSTNAME:-lb}" ]; then
    touch "${CERTS_DIR}/self-made"
fi
# A self-made one lives 825 days and is made anew at a start within 30 days of its end, so the watchdog's
# [CERTIFICATE_EXPIRATION] > 240h check (deploy/monitor/scale-targets.yml) fires only on a real lapse.
# A mounted certificate is never replaced: renewing it is its owner's work, and the check says when.
if [ -e "${CERTS_DIR}/self-made" ] && ! openssl x509 -checkend 2592000 -noout -in "${CERTS_DIR}/lb.crt" >/dev/null 2>&1; then
    rm -f "${CERTS_DIR}/lb.pem" "${CERTS_DIR}/lb.crt"
fi
if [ ! -s "${CERTS_DIR}/lb.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=${LB_HOSTNAME:-lb}" \
        -addext "subjectAltName=DNS:${LB_HOSTNAME:-lb},DNS:localhost,IP:127.0.0.1" \
        -keyout /tmp/lb.key -out /tmp/lb.crt 2>/dev/null
    cat /tmp/lb.crt /tmp/lb.key > "${CERTS_DIR}/lb.pem"
    cp /tmp/lb.crt "${CERTS_DIR}/lb.crt"  # the public half: what clients trust
    rm /tmp/lb.key /tmp/lb.crt
    touch "${CERTS_DIR}/self-made"
fi
# What clients mount and point SSL_CERT_FILE at: the public CAs and this certificate.
if [ -s "${CERTS_DIR}/lb.crt" ] && [ -w "${CERTS_DIR}" ]; then
    cat /etc/ssl/certs/ca-certificates.crt "${CERTS_DIR}/lb.crt" > "${CERTS_DIR}/trust.crt"
    chmod 644 "${CERTS_DIR}/lb.crt" "${CERTS_DIR}/trust.crt"
fi
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
