#!/bin/sh
# Start HAProxy with a certificate: the one mounted in /certs, or one generated here at first start
# (self-signed, for the drill and a first look; mount a real one for production).
set -eu
umask 077  # the private key stays the load balancer's
if [ ! -s /certs/lb.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=${LB_HOSTNAME:-lb}" \
        -addext "subjectAltName=DNS:${LB_HOSTNAME:-lb},DNS:localhost,IP:127.0.0.1" \
        -keyout /tmp/lb.key -out /tmp/lb.crt 2>/dev/null
    cat /tmp/lb.crt /tmp/lb.key > /certs/lb.pem
    cp /tmp/lb.crt /certs/lb.crt  # the public half: what clients trust
    rm /tmp/lb.key /tmp/lb.crt
fi
# What clients mount and point SSL_CERT_FILE at: the public CAs and this certificate.
if [ -s /certs/lb.crt ] && [ -w /certs ]; then
    cat /etc/ssl/certs/ca-certificates.crt /certs/lb.crt > /certs/trust.crt
    chmod 644 /certs/lb.crt /certs/trust.crt
fi
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
