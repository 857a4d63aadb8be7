"""csvagent sandbox supervisor: the container's main process (SPEC 4.3).

Shipped inside the csvagent binary and installed at /opt/csvagent/supervisor.py.

Speaks NDJSON on stdin/stdout (one request or response per line, matched by `id`); stderr is a
log. Workers are fork()s of the supervisor taken after the imports and the load, so each starts
with a pristine copy-on-write `df` and a fresh namespace. A worker that exceeds its timeout is
killed with its whole process group (`timeout`); one that dies reports `crashed`; the next exec
forks a fresh one. When stdin closes (the host went away) the supervisor kills its workers and
exits.
"""

import ast
import errno
import gc
import importlib.util
import io
import json
import linecache
import os
import selectors
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Keep our directory off sys.path: our profile.py must not shadow the stdlib module.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]


def _load_module(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, filename))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import scipy.stats  # noqa: E402,F401
import sklearn  # noqa: E402
import statsmodels  # noqa: E402
import statsmodels.api  # noqa: E402,F401

runtime = _load_module("runtime", "runtime.py")
csvprofile = _load_module("csvagent_profile", "profile.py")

OUTPUT_CAP = 50_000
HALF_CAP = 25_000
PROTOCOL_OUT = None  # the fd the host reads; fd 1 is redirected to stderr


def log(*parts):
    try:
        sys.stderr.write("supervisor: " + " ".join(str(p) for p in parts) + "\n")
        sys.stderr.flush()
    except Exception:
        pass


class CappedText(io.TextIOBase):
    """A text sink keeping the first and last 25,000 chars and counting the rest."""

    def __init__(self):
        self.head = []
        self.head_len = 0
        self.tail = ""
        self.total = 0

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            s = str(s)
        n = len(s)
        self.total += n
        if self.head_len < HALF_CAP:
            take = s[: HALF_CAP - self.head_len]
            self.head.append(take)
            self.head_len += len(take)
            s = s[len(take):]
        if s:
            self.tail = (self.tail + s)[-HALF_CAP:]
        return n

    def flush(self):
        pass

    def value(self):
        """(text, truncated)"""
        head = "".join(self.head)
        if self.total <= OUTPUT_CAP:
            return head + self.tail, False
        dropped = self.total - self.head_len - len(self.tail)
        return head + "\n… [TRUNCATED " + str(dropped) + " chars] …\n" + self.tail, True


# ---------------------------------------------------------------------------------------------
# Worker side (runs in the forked child)
# ---------------------------------------------------------------------------------------------


class Worker:
    """The in-child state: the persistent namespace and the execution counter."""

    def __init__(self, df):
        self.ns = runtime.make_namespace(df)
        self.count = 0

    def run(self, code, mode):
        self.count += 1
        runtime.begin_cell(mode)
        out, err = CappedText(), CappedText()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        status, exception, result_repr = "ok", None, None
        filename = "<cell " + str(self.count) + ">"
        started = time.monotonic()
        try:
            lines = code.splitlines(True)
            linecache.cache[filename] = (len(code), None, lines, filename)
            tree = ast.parse(code, filename=filename, mode="exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = tree.body.pop()
            exec(compile(tree, filename, "exec"), self.ns)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), filename, "eval"), self.ns)
                if value is not None:
                    result_repr = repr(value)
                    if len(result_repr) > OUTPUT_CAP:
                        dropped = len(result_repr) - OUTPUT_CAP
                        result_repr = (result_repr[:HALF_CAP] + "\n… [TRUNCATED " + str(dropped)
                                       + " chars] …\n" + result_repr[-HALF_CAP:])
        except BaseException as e:  # SystemExit and KeyboardInterrupt included
            status = "error"
            exception = {"type": type(e).__name__, "message": str(e)}
            try:
                text = format_error(e, filename)
            except Exception:
                text = type(e).__name__ + ": " + str(e) + "\n"
            err.write(text)
        finally:
            sys.stdout, sys.stderr = saved
        stdout, t1 = out.value()
        stderr, t2 = err.value()
        return {
            "status": status,
            "stdout": stdout,
            "stderr": stderr,
            "truncated": t1 or t2,
            "result_repr": result_repr,
            "exception": exception,
            "submissions": list(runtime.STATE.submissions),
            "hooks": list(runtime.STATE.hooks),
            "execution_count": self.count,
            "elapsed_ms": int((time.monotonic() - started) * 1000),
        }


def format_error(e, filename):
    """The traceback of a cell error, starting at the cell and without runtime frames."""
    if isinstance(e, SyntaxError):
        return "".join(traceback.format_exception_only(type(e), e))
    frames = traceback.extract_tb(e.__traceback__)
    while frames and frames[0].filename != filename:
        frames = frames[1:]
    frames = [f for f in frames if f.filename != runtime.__file__]
    text = "".join(traceback.format_exception_only(type(e), e))
    if frames:
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text
    return text


def _dump(obj):
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError):
        return json.dumps(runtime.normalize(obj), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))


def worker_main(req_fd, resp_fd, df, info):
    """The child's loop: read a request line, run it, write one response line."""
    me = os.getpid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # stray C-level output never reaches the protocol channel
    state = None
    reader = os.fdopen(req_fd, "r", encoding="utf-8")
    writer = os.fdopen(resp_fd, "w", encoding="utf-8")
    for line in reader:
        req = json.loads(line)
        op = req.get("op")
        try:
            if op == "exec":
                if state is None:
                    state = Worker(df)
                resp = state.run(req.get("code", ""), req.get("mode", "agent"))
            elif op == "profile":
                resp = {"profile": csvprofile.profile(df, info)}
            elif op == "overview":
                resp = {"text": csvprofile.overview(df)}
            else:
                resp = {"error": "unknown worker op " + repr(op)}
        except BaseException as e:
            resp = {"error": type(e).__name__ + ": " + str(e)}
        if os.getpid() != me:
            os._exit(0)  # a process forked by user code must never answer
        writer.write(_dump(resp) + "\n")
        writer.flush()
    os._exit(0)


# ---------------------------------------------------------------------------------------------
# Supervisor side
# ---------------------------------------------------------------------------------------------


class Child:
    """A forked worker as seen by the supervisor."""

    def __init__(self, key, pid, req_w, resp_r):
        self.key = key
        self.pid = pid
        self.req_w = req_w
        self.resp_r = resp_r
        self.buf = b""
        self.pending = None  # (request id, op, deadline, timeout_s)
        self.alive = True
        self.throwaway = False


class Supervisor:
    def __init__(self):
        self.df = None
        self.info = None
        self.children = {}  # key -> Child
        self.by_fd = {}
        self.sel = selectors.DefaultSelector()
        self.stdin_buf = b""

    # -- output --------------------------------------------------------------------------------

    def send(self, obj):
        data = (_dump(obj) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            try:
                n = os.write(PROTOCOL_OUT, view)
            except InterruptedError:
                continue
            view = view[n:]

    # -- workers -------------------------------------------------------------------------------

    def fork_child(self, key):
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        # The pristine state was collected once after the load (op_load); freezing is cheap and
        # keeps the child's collector from touching (and copying) the shared pages.
        gc.freeze()
        pid = None
        for attempt in range(50):
            try:
                pid = os.fork()
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ENOMEM):
                    raise
                self.reap_strays()
                time.sleep(0.1)
        if pid is None:
            for fd in (req_r, req_w, resp_r, resp_w):
                os.close(fd)
            raise OSError("cannot fork a worker: the process limit is exhausted")
        if pid == 0:
            try:
                os.setpgid(0, 0)
                os.close(req_w)
                os.close(resp_r)
                os.close(PROTOCOL_OUT)
                for c in self.children.values():
                    for fd in (c.req_w, c.resp_r):
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                self.sel.close()
                worker_main(req_r, resp_w, self.df, self.info)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        gc.unfreeze()
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        os.close(req_r)
        os.close(resp_w)
        os.set_blocking(resp_r, False)
        child = Child(key, pid, req_w, resp_r)
        self.children[key] = child
        self.by_fd[resp_r] = child
        self.sel.register(resp_r, selectors.EVENT_READ)
        return child

    def kill_child(self, child):
        """SIGKILLs the worker's whole process group and reaps it."""
        if child.key in self.children and self.children[child.key] is child:
            del self.children[child.key]
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.waitpid(child.pid, 0)
        except ChildProcessError:
            pass
        # Processes the worker forked may outlive it in its group; kill them until the group is
        # empty (the init process reaps them). Without strays this ends at the first call.
        for _ in range(50):
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.01)
        child.alive = False
        try:
            self.sel.unregister(child.resp_r)
        except (KeyError, ValueError):
            pass
        self.by_fd.pop(child.resp_r, None)
        for fd in (child.req_w, child.resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.reap_strays()

    def reap_strays(self):
        """Kills processes that escaped a dead worker's group (user code calling setsid).

        Only inside the sandbox container (CSVAGENT_SANDBOX=1), where every process but init
        belongs to us.
        """
        if os.environ.get("CSVAGENT_SANDBOX") != "1":
            return
        live = {os.getpgrp()} | {c.pid for c in self.children.values()}
        me = os.getpid()
        try:
            entries = os.listdir("/proc")
        except OSError:
            return
        for name in entries:
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in (me, 1):
                continue
            try:
                pgid = os.getpgid(pid)
            except OSError:
                continue
            if pgid in live or pgid == 0:
                continue
            try:
                with open("/proc/" + name + "/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == 0:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break

    def kill_all(self):
        for child in list(self.children.values()):
            self.kill_child(child)

    # -- requests ------------------------------------------------------------------------------

    def handle(self, req):
        rid = req.get("id")
        op = req.get("op")
        try:
            if op == "ping":
                self.send({"id": rid, "ok": True, "versions": versions()})
            elif op == "load":
                self.op_load(rid, req)
            elif op == "exec":
                self.op_exec(rid, req)
            elif op == "reset":
                child = self.children.get(("w", int(req.get("worker", 0))))
                if child is not None:
                    self.fail_pending(child, "crashed", "WorkerReset", "the worker was reset")
                    self.kill_child(child)
                self.send({"id": rid, "ok": True})
            elif op in ("profile", "overview"):
                if self.df is None:
                    self.send({"id": rid, "ok": False, "error": "no dataset loaded"})
                    return
                child = self.fork_child(("t", rid))
                child.throwaway = True
                timeout = float(req.get("timeout_s", 120))
                child.pending = (rid, op, time.monotonic() + timeout, timeout)
                self.write_child(child, {"op": op})
            elif op == "shutdown":
                self.kill_all()
                self.send({"id": rid, "ok": True})
                sys.exit(0)
            else:
                self.send({"id": rid, "ok": False, "error": "unknown op " + repr(op)})
        except SystemExit:
            raise
        except BaseException as e:
            log("request failed:", op, traceback.format_exc())
            self.send({"id": rid, "ok": False, "error": type(e).__name__ + ": " + str(e)})

    def op_load(self, rid, req):
        self.kill_all()
        self.df, self.info = None, None
        gc.collect()
        try:
            df, info = csvprofile.load(
                req["path"],
                req.get("encoding", "utf-8"),
                req.get("delimiter", ","),
                req.get("na_values"),
                bool(req.get("coerce", True)),
                req.get("decimal", "."),
            )
        except csvprofile.LoadError as e:
            self.send({"id": rid, "ok": False, "error": str(e)})
            return
        except MemoryError:
            self.send({"id": rid, "ok": False, "error": "out of memory while loading"})
            return
        self.df, self.info = df, info
        gc.collect()
        self.send({
            "id": rid,
            "ok": True,
            "rows": int(df.shape[0]),
            "columns": int(df.shape[1]),
            "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
        })

    def op_exec(self, rid, req):
        if self.df is None:
            self.send({"id": rid, "ok": False, "error": "no dataset loaded"})
            return
        key = ("w", int(req.get("worker", 0)))
        child = self.children.get(key)
        if child is not None and child.pending is not None:
            self.send({"id": rid, "ok": False, "error": "worker " + str(key[1]) + " is busy"})
            return
        if child is None:
            child = self.fork_child(key)
        timeout = float(req.get("timeout_s", 60))
        child.pending = (rid, "exec", time.monotonic() + timeout, timeout)
        self.write_child(child, {"op": "exec", "code": req.get("code", ""),
                                 "mode": req.get("mode", "agent")})

    def write_child(self, child, msg):
        data = (json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            os.write(child.req_w, data) if len(data) < 65536 else self._write_all(child.req_w, data)
        except OSError:
            self.child_died(child)

    def _write_all(self, fd, data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def fail_pending(self, child, status, etype, message):
        if child.pending is None:
            return
        rid, op, _, _ = child.pending
        child.pending = None
        if op == "exec":
            self.send({
                "id": rid, "ok": True, "status": status, "stdout": "", "stderr": message + "\n",
                "truncated": False, "result_repr": None,
                "exception": {"type": etype, "message": message},
                "submissions": [], "hooks": [], "execution_count": 0, "elapsed_ms": 0,
            })
        else:
            self.send({"id": rid, "ok": False, "error": op + " failed: " + message})

    def child_died(self, child):
        how = "the worker died"
        try:
            pid, status = 0, 0
            for _ in range(100):
                pid, status = os.waitpid(child.pid, os.WNOHANG)
                if pid == child.pid:
                    break
                time.sleep(0.01)
            if pid == child.pid:
                if os.WIFSIGNALED(status):
                    sig = os.WTERMSIG(status)
                    how = "the worker was killed by signal " + str(sig)
                    if sig == signal.SIGKILL:
                        how += " (most likely out of memory)"
                elif os.WIFEXITED(status):
                    how = "the worker exited with status " + str(os.WEXITSTATUS(status))
        except ChildProcessError:
            pass
        self.fail_pending(child, "crashed", "WorkerCrashed", how)
        self.kill_child(child)

    def on_child_readable(self, child):
        while True:
            try:
                chunk = os.read(child.resp_r, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                self.child_died(child)
                return
            child.buf += chunk
            while b"\n" in child.buf and child.alive:
                line, child.buf = child.buf.split(b"\n", 1)
                self.on_child_response(child, line)

    def on_child_response(self, child, line):
        if child.pending is None:
            return
        rid, op, _, _ = child.pending
        child.pending = None
        try:
            resp = json.loads(line)
        except ValueError:
            resp = {"error": "unreadable worker response"}
        if "error" in resp and op != "exec":
            self.send({"id": rid, "ok": False, "error": resp["error"]})
        elif "error" in resp:
            self.send({"id": rid, "ok": False, "error": resp["error"]})
        elif op == "exec":
            resp.update(id=rid, ok=True)
            self.send(resp)
        elif op == "profile":
            self.send({"id": rid, "ok": True, "profile": resp["profile"]})
        else:
            self.send({"id": rid, "ok": True, "text": resp["text"]})
        if child.throwaway:
            self.kill_child(child)

    def check_deadlines(self):
        now = time.monotonic()
        for child in list(self.children.values()):
            if child.pending is not None and now >= child.pending[2]:
                timeout = child.pending[3]
                self.fail_pending(
                    child, "timeout", "Timeout",
                    "execution timed out after " + ("%g" % timeout) + " s; the worker was killed",
                )
                self.kill_child(child)

    def check_children(self):
        """Notices workers that died while a descendant still holds their pipe open."""
        for child in list(self.children.values()):
            try:
                pid, status = os.waitpid(child.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = child.pid, 0
            if pid == child.pid:
                reason = "the worker died"
                if os.WIFSIGNALED(status):
                    reason = "the worker was killed by signal " + str(os.WTERMSIG(status))
                    if os.WTERMSIG(status) == signal.SIGKILL:
                        reason += " (most likely out of memory)"
                self.fail_pending(child, "crashed", "WorkerCrashed", reason)
                self.kill_child(child)

    def next_timeout(self):
        deadlines = [c.pending[2] for c in self.children.values() if c.pending is not None]
        if not deadlines:
            return 1.0
        return max(0.0, min(min(deadlines) - time.monotonic(), 0.25))

    def serve(self):
        os.set_blocking(0, False)
        self.sel.register(0, selectors.EVENT_READ)
        while True:
            events = self.sel.select(self.next_timeout())
            for key, _ in events:
                fd = key.fd
                if fd == 0:
                    self.on_stdin()
                elif fd in self.by_fd:
                    self.on_child_readable(self.by_fd[fd])
            self.check_deadlines()
            self.check_children()

    def on_stdin(self):
        while True:
            try:
                chunk = os.read(0, 1 << 20)
            except BlockingIOError:
                return
            if not chunk:
                log("stdin closed; exiting")
                self.kill_all()
                sys.exit(0)
            self.stdin_buf += chunk
            while b"\n" in self.stdin_buf:
                line, self.stdin_buf = self.stdin_buf.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                except ValueError as e:
                    self.send({"id": None, "ok": False, "error": "bad request: " + str(e)})
                    continue
                self.handle(req)


def versions():
    return {
        "python": ".".join(str(p) for p in sys.version_info[:3]),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "sklearn": sklearn.__version__,
    }


def main():
    global PROTOCOL_OUT
    PROTOCOL_OUT = os.dup(1)
    os.dup2(2, 1)  # stray prints go to the log, never into the protocol
    sys.stdout = sys.stderr
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    log("ready", json.dumps(versions()))
    try:
        Supervisor().serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
