#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal CRI client for tests/e2e/cri.sh: the calls kubelet makes to run
and tear down a pod sandbox, over the CRI v1 gRPC service of a containerd
socket (runtime.v1.RuntimeService). The few protobuf messages it needs are
encoded and decoded by hand below (no generated code): field numbers as in
the CRI v1 api.proto, checked against containerd 1.6 by cri.sh.

Usage: cri.py SOCKET COMMAND [ARGS]; prints JSON on stdout.
  version
  run NAME UID NAMESPACE [PROTO:HOSTPORT:CONTAINERPORT[:HOSTIP]]...
  status ID          (verbose: the runtime's info JSON is included, parsed)
  list
  stop ID
  remove ID
Exit 0 on success, 1 with the gRPC status on stderr otherwise.
"""
import json
import sys

import grpc

TIMEOUT = 60  # seconds, for every call
SERVICE = "/runtime.v1.RuntimeService/"

# --- protobuf wire format (varint = 0, length-delimited = 2) ---------------


def varint(n):
    if n < 0:
        n += 1 << 64  # int32/int64 negatives are 10-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, n):
    # proto3 leaves default values off the wire
    return varint(num << 3 | 0) + varint(n) if n else b""


def f_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data if data else b""


def f_msg(num, data):
    # an empty sub-message is still sent: its presence can matter
    return varint(num << 3 | 2) + varint(len(data)) + data


def f_map(num, d):
    return b"".join(f_msg(num, f_bytes(1, k) + f_bytes(2, v)) for k, v in d.items())


def decode(buf):
    """field number -> list of raw values (int for varints, bytes otherwise)."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = read_varint(buf, i)
        elif wt == 2:
            ln, i = read_varint(buf, i)
            val = bytes(buf[i:i + ln])
            i += ln
        elif wt == 1:
            val = bytes(buf[i:i + 8])
            i += 8
        elif wt == 5:
            val = bytes(buf[i:i + 4])
            i += 4
        else:
            raise ValueError(f"wire type {wt} of field {num} not handled")
        fields.setdefault(num, []).append(val)
    return fields


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def one(fields, num, default=None):
    v = fields.get(num)
    return v[-1] if v else default


def s(fields, num):
    return one(fields, num, b"").decode()


def dmap(fields, num):
    out = {}
    for entry in fields.get(num, []):
        e = decode(entry)
        out[s(e, 1)] = s(e, 2)
    return out


# --- CRI v1 messages ---------------------------------------------------------

PROTO = {"tcp": 0, "udp": 1, "sctp": 2}
STATE = {0: "SANDBOX_READY", 1: "SANDBOX_NOTREADY"}


def port_mapping(spec):
    # PortMapping{protocol=1, container_port=2, host_port=3, host_ip=4}
    parts = spec.split(":", 3)
    proto, hport, cport = parts[0], int(parts[1]), int(parts[2])
    hip = parts[3] if len(parts) > 3 else ""
    return (f_varint(1, PROTO[proto]) + f_varint(2, cport) + f_varint(3, hport)
            + f_bytes(4, hip))


def sandbox_config(name, uid, namespace, ports):
    # PodSandboxMetadata{name=1, uid=2, namespace=3, attempt=4}
    meta = f_bytes(1, name) + f_bytes(2, uid) + f_bytes(3, namespace) + f_varint(4, 0)
    # PodSandboxConfig{metadata=1, hostname=2, log_directory=3, dns_config=4,
    # port_mappings=5, labels=6, annotations=7, linux=8}
    return (f_msg(1, meta) + f_bytes(2, name)
            + b"".join(f_msg(5, port_mapping(p)) for p in ports)
            + f_map(6, {"io.kubernetes.pod.name": name,
                        "io.kubernetes.pod.namespace": namespace,
                        "io.kubernetes.pod.uid": uid})
            + f_msg(8, b""))  # LinuxPodSandboxConfig: defaults


def metadata(buf):
    m = decode(buf)
    return {"name": s(m, 1), "uid": s(m, 2), "namespace": s(m, 3),
            "attempt": one(m, 4, 0)}


def sandbox_status(buf):
    # PodSandboxStatus{id=1, metadata=2, state=3, created_at=4, network=5,
    # linux=6, labels=7, annotations=8, runtime_handler=9}
    st = decode(buf)
    out = {"id": s(st, 1), "metadata": metadata(one(st, 2, b"")),
           "state": STATE.get(one(st, 3, 0)), "labels": dmap(st, 7)}
    # PodSandboxNetworkStatus{ip=1, additional_ips=2 (PodIP{ip=1})}
    net = decode(one(st, 5, b""))
    out["ip"] = s(net, 1)
    out["additional_ips"] = [s(decode(p), 1) for p in net.get(2, [])]
    return out


def call(channel, method, req):
    rpc = channel.unary_unary(SERVICE + method, request_serializer=None,
                              response_deserializer=None)
    return decode(rpc(req, timeout=TIMEOUT))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    sock, cmd, args = argv[1], argv[2], argv[3:]
    with grpc.insecure_channel("unix://" + sock) as ch:
        if cmd == "version":
            # VersionRequest{version=1}, VersionResponse{version=1,
            # runtime_name=2, runtime_version=3, runtime_api_version=4}
            r = call(ch, "Version", f_bytes(1, "v1"))
            out = {"version": s(r, 1), "runtime_name": s(r, 2),
                   "runtime_version": s(r, 3), "runtime_api_version": s(r, 4)}
        elif cmd == "run":
            # RunPodSandboxRequest{config=1, runtime_handler=2},
            # RunPodSandboxResponse{pod_sandbox_id=1}
            name, uid, ns, ports = args[0], args[1], args[2], args[3:]
            r = call(ch, "RunPodSandbox", f_msg(1, sandbox_config(name, uid, ns, ports)))
            out = {"id": s(r, 1)}
        elif cmd == "status":
            # PodSandboxStatusRequest{pod_sandbox_id=1, verbose=2},
            # PodSandboxStatusResponse{status=1, info=2 (map)}
            r = call(ch, "PodSandboxStatus", f_bytes(1, args[0]) + f_varint(2, 1))
            out = sandbox_status(one(r, 1, b""))
            out["info"] = {k: json.loads(v) for k, v in dmap(r, 2).items()}
        elif cmd == "list":
            # ListPodSandboxRequest{filter=1}, ListPodSandboxResponse{items=1
            # (PodSandbox{id=1, metadata=2, state=3, ...})}
            r = call(ch, "ListPodSandbox", b"")
            out = []
            for item in r.get(1, []):
                p = decode(item)
                out.append({"id": s(p, 1), "metadata": metadata(one(p, 2, b"")),
                            "state": STATE.get(one(p, 3, 0))})
        elif cmd in ("stop", "remove"):
            # {Stop,Remove}PodSandboxRequest{pod_sandbox_id=1}; empty responses
            call(ch, cmd.capitalize() + "PodSandbox", f_bytes(1, args[0]))
            out = {}
        else:
            sys.exit(f"cri.py: unknown command {cmd}")
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except grpc.RpcError as e:
        sys.exit(f"cri.py {' '.join(sys.argv[2:])}: {e.code().name}: {e.details()}")
