"""TLS on the gRPC listener (issue 10): TLS only when a certificate is configured, client certificates required with
a client CA (mTLS), the gateway dialing over mTLS, and grpcurl with the CA and a token. The certificates come from
deploy/lib/tls-certs, as deploy/up makes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import harness as h
from test_deploy_units import tls_certs
from test_grpc import grpcurl


def make_certs(directory: Path) -> Path:
    tls_certs(directory)
    return directory


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Two independent CAs, each with a server pair and a client (gateway) pair."""
    return make_certs(tmp_path_factory.mktemp("pki")), make_certs(tmp_path_factory.mktemp("other-pki"))


def tls_server_env(pki: Path, client_auth: str | None) -> dict:
    env = {"PBX_TLS_CERT_FILE": str(pki / "server.crt"), "PBX_TLS_KEY_FILE": str(pki / "server.key")}
    if client_auth:
        env.update({"PBX_TLS_CLIENT_CA_FILE": str(pki / "ca.crt"), "PBX_TLS_CLIENT_AUTH": client_auth})
    return env


def gateway_env(pki: Path, with_client_cert: bool = True) -> dict:
    env = {"PBX_GRPC_TLS_CA_FILE": str(pki / "ca.crt")}
    if with_client_cert:
        env.update({"PBX_GRPC_TLS_CERT_FILE": str(pki / "gateway.crt"),
                    "PBX_GRPC_TLS_KEY_FILE": str(pki / "gateway.key")})
    return env


def list_users(portal, *tls_args: str) -> subprocess.CompletedProcess:
    return grpcurl(*tls_args, portal.grpc_addr, "pbx.v1.UserService/ListUsers", token=portal.admin_token)


def test_tls_only_and_grpcurl_with_the_ca_and_a_token(portals, new_db, pki):
    ca, _ = pki
    p = portals.start(new_db(), server_env=tls_server_env(ca, None), gateway_env=gateway_env(ca, False))
    ok = list_users(p, "-cacert", str(ca / "ca.crt"))
    assert ok.returncode == 0, ok.stderr
    assert list_users(p, "-plaintext").returncode != 0, "the TLS listener answered plaintext"
    no_token = grpcurl("-cacert", str(ca / "ca.crt"), p.grpc_addr, "pbx.v1.UserService/ListUsers")
    assert no_token.returncode != 0 and "Unauthenticated" in no_token.stdout + no_token.stderr, no_token
    assert p.get("/users").status == 200, "the gateway does not reach the TLS server"


def test_mtls_refuses_callers_without_a_certificate_of_its_ca(portals, new_db, pki):
    ca, other = pki
    p = portals.start(new_db(), server_env=tls_server_env(ca, "require"), gateway_env=gateway_env(ca))
    assert p.get("/users").status == 200, "the gateway's client certificate was not accepted"
    with_cert = list_users(p, "-cacert", str(ca / "ca.crt"), "-cert", str(ca / "gateway.crt"),
                           "-key", str(ca / "gateway.key"))
    assert with_cert.returncode == 0, with_cert.stderr
    without = list_users(p, "-cacert", str(ca / "ca.crt"))
    assert without.returncode != 0, "mTLS let a caller without a client certificate in"
    foreign = list_users(p, "-cacert", str(ca / "ca.crt"), "-cert", str(other / "gateway.crt"),
                         "-key", str(other / "gateway.key"))
    assert foreign.returncode != 0, "mTLS let a certificate of another CA in"
    assert list_users(p, "-plaintext").returncode != 0


def test_a_gateway_without_its_certificate_cannot_reach_an_mtls_server(portals, new_db, pki):
    """The gateway trusts the server's CA, so only its own certificate (none, or another CA's) is in question."""
    ca, other = pki
    another_cas = {**gateway_env(ca, False), "PBX_GRPC_TLS_CERT_FILE": str(other / "gateway.crt"),
                   "PBX_GRPC_TLS_KEY_FILE": str(other / "gateway.key")}
    for what, env in (("no certificate", gateway_env(ca, False)), ("another CA's certificate", another_cas)):
        p = portals.start(new_db(), server_env=tls_server_env(ca, "require"), gateway_env=env, wait=False)
        h.wait_until(lambda: p.healthz_status() is not None, 20, 0.1, "the gateway to listen")
        assert p.get("/users").status == 503, f"a gateway with {what} reached the server"


def test_optional_client_auth_admits_token_only_callers_and_verifies_certificates(portals, new_db, pki):
    """deploy/up's setting: the gateway presents its certificate (and the server checks it), grpcurl comes with a
    token alone."""
    ca, other = pki
    p = portals.start(new_db(), server_env=tls_server_env(ca, "optional"), gateway_env=gateway_env(ca))
    assert p.get("/users").status == 200
    assert list_users(p, "-cacert", str(ca / "ca.crt")).returncode == 0
    foreign = list_users(p, "-cacert", str(ca / "ca.crt"), "-cert", str(other / "gateway.crt"),
                         "-key", str(other / "gateway.key"))
    assert foreign.returncode != 0, "a certificate of another CA was accepted"
