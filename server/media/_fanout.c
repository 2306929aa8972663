/*
 * The per-listener loop of the Forwarder in C: for each listener of a slot, write the 12-byte
 * RTP header into a reusable buffer after the payload is copied in, SRTP-protect it with the
 * listener's session (libsrtp's srtp_protect, reached through the pointer pylibsrtp exposes) and
 * sendto() it on the listener's ICE socket. One call per incoming packet.
 *
 * A packet comes as a tuple of payload variants: one for a plain Opus packet; for a RED packet,
 * the primary alone (variant 0) and RED rewritten for each listener Opus payload type (1, 2, ...).
 * Each target says which variant of a RED packet it gets, and under which payload type.
 *
 * Safety: each target keeps a reference to its pylibsrtp Session (so the srtp context outlives
 * every send) and a dup() of its socket's descriptor (so a socket closed by aioice can never
 * turn into someone else's descriptor under us). See server/media/fastpath.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PACKET 1500
#define MAX_TRAILER (16 + 128)

typedef int (*protect_fn)(void *ctx, void *rtp, int *len);

typedef struct {
    int fd;
    void *srtp;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint8_t payload_type;      /* Opus */
    uint8_t red_payload_type;  /* of a RED packet: RED's, or Opus's for a listener without RED */
    uint8_t variant;           /* which payload of a RED packet this listener gets */
    uint8_t ssrc[4];
    PyObject *keep;
} Target;

typedef struct {
    PyObject_HEAD
    protect_fn protect;
    Target *targets;
    Py_ssize_t count;
} FanOut;

static void clear_targets(FanOut *self) {
    for (Py_ssize_t i = 0; i < self->count; i++) {
        close(self->targets[i].fd);
        Py_XDECREF(self->targets[i].keep);
    }
    PyMem_Free(self->targets);
    self->targets = NULL;
    self->count = 0;
}

static int FanOut_init(FanOut *self, PyObject *args, PyObject *kwds) {
    unsigned long long protect;
    if (!PyArg_ParseTuple(args, "K", &protect)) return -1;
    self->protect = (protect_fn)(uintptr_t)protect;
    return 0;
}

static void FanOut_dealloc(FanOut *self) {
    clear_targets(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int parse_address(PyObject *host, int port, struct sockaddr_storage *addr, socklen_t *len) {
    const char *text = PyUnicode_AsUTF8(host);
    if (text == NULL) return -1;
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
    } else {
        PyErr_Format(PyExc_ValueError, "not an IP address: %s", text);
        return -1;
    }
    return 0;
}

/* set_targets([(fd, srtp, host, port, payload_type, red_payload_type, variant, ssrc, keep), ...]) */
static PyObject *FanOut_set_targets(FanOut *self, PyObject *list) {
    PyObject *seq = PySequence_Fast(list, "targets must be a sequence");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Target *targets = PyMem_Calloc(n ? n : 1, sizeof(Target));
    if (targets == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    Py_ssize_t made = 0;
    for (; made < n; made++) {
        Target *t = &targets[made];
        int fd, port, payload_type, red_payload_type, variant;
        unsigned long long srtp;
        unsigned long ssrc;
        PyObject *host, *keep;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, made), "iKUiiiikO", &fd, &srtp, &host, &port,
                              &payload_type, &red_payload_type, &variant, &ssrc, &keep))
            goto fail;
        if (variant < 0 || variant > 255) {
            PyErr_SetString(PyExc_ValueError, "variant out of range");
            goto fail;
        }
        if (parse_address(host, port, &t->addr, &t->addrlen) < 0) goto fail;
        t->fd = dup(fd);
        if (t->fd < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            goto fail;
        }
        t->srtp = (void *)(uintptr_t)srtp;
        t->payload_type = (uint8_t)(payload_type & 0x7f);
        t->red_payload_type = (uint8_t)(red_payload_type & 0x7f);
        t->variant = (uint8_t)variant;
        t->ssrc[0] = ssrc >> 24; t->ssrc[1] = ssrc >> 16; t->ssrc[2] = ssrc >> 8; t->ssrc[3] = ssrc;
        Py_INCREF(keep);
        t->keep = keep;
    }
    Py_DECREF(seq);
    clear_targets(self);
    self->targets = targets;
    self->count = n;
    Py_RETURN_NONE;
fail:
    for (Py_ssize_t i = 0; i < made; i++) {
        close(targets[i].fd);
        Py_XDECREF(targets[i].keep);
    }
    PyMem_Free(targets);
    Py_DECREF(seq);
    return NULL;
}

/* send(seq, timestamp, marker, payloads, red) -> (packets handed to the kernel, of which as RED) */
static PyObject *FanOut_send(FanOut *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyTuple_Check(args[3]) || PyTuple_GET_SIZE(args[3]) < 1) {
        PyErr_SetString(PyExc_TypeError, "send(seq, timestamp, marker, payloads: non-empty tuple of bytes, red)");
        return NULL;
    }
    unsigned long seq = PyLong_AsUnsignedLong(args[0]);
    unsigned long ts = PyLong_AsUnsignedLong(args[1]);
    long marker = PyLong_AsLong(args[2]);
    int red = PyObject_IsTrue(args[4]);
    if (PyErr_Occurred() || red < 0) return NULL;
    PyObject *payloads = args[3];
    Py_ssize_t variants = PyTuple_GET_SIZE(payloads);
    for (Py_ssize_t v = 0; v < variants; v++) {
        PyObject *p = PyTuple_GET_ITEM(payloads, v);
        if (!PyBytes_Check(p)) {
            PyErr_SetString(PyExc_TypeError, "payloads must be bytes");
            return NULL;
        }
        if (PyBytes_GET_SIZE(p) > MAX_PACKET - 12 - MAX_TRAILER) {
            PyErr_SetString(PyExc_ValueError, "payload too large");
            return NULL;
        }
    }
    unsigned char buffer[MAX_PACKET];
    long delivered = 0, as_red = 0;
    for (Py_ssize_t i = 0; i < self->count; i++) {
        Target *t = &self->targets[i];
        Py_ssize_t v = red ? t->variant : 0;
        if (v >= variants) continue;  /* no such variant: set_targets and the caller disagree */
        PyObject *payload = PyTuple_GET_ITEM(payloads, v);
        Py_ssize_t size = PyBytes_GET_SIZE(payload);
        buffer[0] = 0x80;
        buffer[1] = (uint8_t)((marker ? 0x80 : 0) | (red ? t->red_payload_type : t->payload_type));
        buffer[2] = seq >> 8; buffer[3] = seq;
        buffer[4] = ts >> 24; buffer[5] = ts >> 16; buffer[6] = ts >> 8; buffer[7] = ts;
        memcpy(buffer + 8, t->ssrc, 4);
        memcpy(buffer + 12, PyBytes_AS_STRING(payload), size);
        int len = 12 + (int)size;
        if (self->protect(t->srtp, buffer, &len) != 0) continue;
        if (sendto(t->fd, buffer, len, MSG_DONTWAIT, (struct sockaddr *)&t->addr, t->addrlen) == len) {
            delivered++;
            as_red += v > 0;
        }
    }
    return Py_BuildValue("(ll)", delivered, as_red);
}

static PyObject *FanOut_len(FanOut *self, PyObject *unused) { return PyLong_FromSsize_t(self->count); }

static PyMethodDef FanOut_methods[] = {
    {"set_targets", (PyCFunction)FanOut_set_targets, METH_O, "Replace the listeners: [(fd, srtp, host, port, pt, red pt, variant, ssrc, keep)]."},
    {"send", (PyCFunction)(void (*)(void))FanOut_send, METH_FASTCALL, "send(seq, ts, marker, payloads, red) -> (delivered, as RED)"},
    {"count", (PyCFunction)FanOut_len, METH_NOARGS, "How many listeners."},
    {NULL},
};

static PyTypeObject FanOutType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "server.media._fanout.FanOut",
    .tp_basicsize = sizeof(FanOut),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One slot's listeners: protect and send a packet to each of them.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FanOut_init,
    .tp_dealloc = (destructor)FanOut_dealloc,
    .tp_methods = FanOut_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fanout", "The Forwarder's per-listener loop in C.", -1, NULL};

PyMODINIT_FUNC PyInit__fanout(void) {
    if (PyType_Ready(&FanOutType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&FanOutType);
    if (PyModule_AddObject(m, "FanOut", (PyObject *)&FanOutType) < 0) {
        Py_DECREF(&FanOutType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
