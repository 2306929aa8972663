/*
 * The per-listener loop of the Forwarder in C: for each listener of a slot, write the 12-byte
 * RTP header and the payload into that listener's buffer and SRTP-protect it with the listener's
 * session (libsrtp's srtp_protect, reached through the pointer pylibsrtp exposes); then hand each
 * socket all of its listeners' packets in one sendmmsg(). One call per incoming packet: with one
 * UDP socket for the node, one system call for the whole fan-out; with a socket per peer, one
 * per listener as before.
 *
 * A packet comes as a tuple of payload variants: one for a plain Opus packet; for a RED packet,
 * the primary alone (variant 0) and RED rewritten for each listener Opus payload type (1, 2, ...).
 * Each target says which variant of a RED packet it gets, and under which payload type.
 *
 * Safety: each target keeps a reference to its pylibsrtp Session (so the srtp context outlives
 * every send), and each distinct socket descriptor is dup()ed once (so a socket closed by aioice
 * can never turn into someone else's descriptor under us). See server/media/fastpath.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>  /* defines _GNU_SOURCE, which sendmmsg needs */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_PACKET 1500
#define MAX_TRAILER (16 + 128)

typedef int (*protect_fn)(void *ctx, void *rtp, int *len);

#ifdef __linux__
typedef struct mmsghdr Message;
#else
typedef struct {  /* no sendmmsg (macOS): the same messages, sent one by one */
    struct msghdr msg_hdr;
    unsigned int msg_len;
} Message;
#endif

/* Send messages[0 .. count) under sendmmsg's contract: how many went before the first that failed,
 * or -1 if that was the first. One message goes by sendto, cheaper than sendmmsg for one (a socket
 * per peer); so do all of them where there is no sendmmsg. */
static int send_messages(int fd, Message *messages, unsigned int count) {
#ifdef __linux__
    if (count > 1) return sendmmsg(fd, messages, count, MSG_DONTWAIT);
#endif
    for (unsigned int i = 0; i < count; i++) {
        const struct msghdr *h = &messages[i].msg_hdr;
        ssize_t sent = sendto(fd, h->msg_iov->iov_base, h->msg_iov->iov_len, MSG_DONTWAIT, h->msg_name, h->msg_namelen);
        if (sent < 0) return i ? (int)i : -1;
        messages[i].msg_len = (unsigned int)sent;
    }
    return (int)count;
}

typedef struct {
    void *srtp;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint8_t payload_type;      /* Opus */
    uint8_t red_payload_type;  /* of a RED packet: RED's, or Opus's for a listener without RED */
    uint8_t variant;           /* which payload of a RED packet this listener gets */
    uint8_t ssrc[4];
    PyObject *keep;
} Target;

/* A target's place in sending order: by the caller's socket descriptor, then as given. */
typedef struct {
    int fd;
    Py_ssize_t index;
} Order;

/* The targets on one socket: order[first .. first + count), sent on our dup() of it. */
typedef struct {
    int fd;
    Py_ssize_t first, count;
} Group;

/* One message of a batch: a packet protected for one listener. */
typedef struct {
    struct iovec iov;
    int red;  /* a RED variant */
    unsigned char data[MAX_PACKET];
} Buffer;

/* What set_targets builds and send uses; a batch (messages, buffers) is as large as the largest group. */
typedef struct {
    Target *targets;
    Py_ssize_t count;
    Order *order;
    Group *groups;
    Py_ssize_t group_count;
    Message *messages;
    Buffer *buffers;
} Plan;

typedef struct {
    PyObject_HEAD
    protect_fn protect;
    Plan plan;
} FanOut;

static void clear_plan(Plan *plan) {
    for (Py_ssize_t i = 0; i < plan->count; i++) Py_XDECREF(plan->targets[i].keep);
    for (Py_ssize_t g = 0; g < plan->group_count; g++) close(plan->groups[g].fd);
    PyMem_Free(plan->targets);
    PyMem_Free(plan->order);
    PyMem_Free(plan->groups);
    PyMem_Free(plan->messages);
    PyMem_Free(plan->buffers);
    memset(plan, 0, sizeof(*plan));
}

static int FanOut_init(FanOut *self, PyObject *args, PyObject *kwds) {
    unsigned long long protect;
    if (!PyArg_ParseTuple(args, "K", &protect)) return -1;
    self->protect = (protect_fn)(uintptr_t)protect;
    return 0;
}

static void FanOut_dealloc(FanOut *self) {
    clear_plan(&self->plan);
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

static int by_socket(const void *a, const void *b) {
    const Order *x = a, *y = b;
    if (x->fd != y->fd) return x->fd < y->fd ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Group plan->order (sorted) by socket, dup() each socket once, and make a batch for the largest group. */
static int make_groups(Plan *plan) {
    Py_ssize_t largest = 0;
    plan->groups = PyMem_Calloc(plan->count ? plan->count : 1, sizeof(Group));
    if (plan->groups == NULL) goto no_memory;
    for (Py_ssize_t i = 0; i < plan->count; i++) {
        if (i == 0 || plan->order[i].fd != plan->order[i - 1].fd) {
            int fd = dup(plan->order[i].fd);
            if (fd < 0) {
                PyErr_SetFromErrno(PyExc_OSError);
                return -1;
            }
            plan->groups[plan->group_count++] = (Group){fd, i, 0};
        }
        Group *group = &plan->groups[plan->group_count - 1];
        if (++group->count > largest) largest = group->count;
    }
    plan->messages = PyMem_Calloc(largest ? largest : 1, sizeof(Message));
    plan->buffers = PyMem_Calloc(largest ? largest : 1, sizeof(Buffer));
    if (plan->messages == NULL || plan->buffers == NULL) goto no_memory;
    for (Py_ssize_t m = 0; m < largest; m++) {
        plan->buffers[m].iov.iov_base = plan->buffers[m].data;
        plan->messages[m].msg_hdr.msg_iov = &plan->buffers[m].iov;
        plan->messages[m].msg_hdr.msg_iovlen = 1;
    }
    return 0;
no_memory:
    PyErr_NoMemory();
    return -1;
}

/* set_targets([(fd, srtp, host, port, payload_type, red_payload_type, variant, ssrc, keep), ...]) */
static PyObject *FanOut_set_targets(FanOut *self, PyObject *list) {
    PyObject *seq = PySequence_Fast(list, "targets must be a sequence");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Plan plan = {0};
    plan.targets = PyMem_Calloc(n ? n : 1, sizeof(Target));
    plan.order = PyMem_Calloc(n ? n : 1, sizeof(Order));
    if (plan.targets == NULL || plan.order == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    plan.count = n;  /* clear_plan releases the references taken so far (the others are NULL) */
    for (Py_ssize_t i = 0; i < n; i++) {
        Target *t = &plan.targets[i];
        int fd, port, payload_type, red_payload_type, variant;
        unsigned long long srtp;
        unsigned long ssrc;
        PyObject *host, *keep;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iKUiiiikO", &fd, &srtp, &host, &port,
                              &payload_type, &red_payload_type, &variant, &ssrc, &keep))
            goto fail;
        if (variant < 0 || variant > 255) {
            PyErr_SetString(PyExc_ValueError, "variant out of range");
            goto fail;
        }
        if (parse_address(host, port, &t->addr, &t->addrlen) < 0) goto fail;
        t->srtp = (void *)(uintptr_t)srtp;
        t->payload_type = (uint8_t)(payload_type & 0x7f);
        t->red_payload_type = (uint8_t)(red_payload_type & 0x7f);
        t->variant = (uint8_t)variant;
        t->ssrc[0] = ssrc >> 24; t->ssrc[1] = ssrc >> 16; t->ssrc[2] = ssrc >> 8; t->ssrc[3] = ssrc;
        Py_INCREF(keep);
        t->keep = keep;
        plan.order[i] = (Order){fd, i};
    }
    qsort(plan.order, (size_t)n, sizeof(Order), by_socket);
    if (make_groups(&plan) < 0) goto fail;
    Py_DECREF(seq);
    Plan old = self->plan;
    self->plan = plan;  /* in place before the old references go: releasing them may run Python code */
    clear_plan(&old);
    Py_RETURN_NONE;
fail:
    clear_plan(&plan);
    Py_DECREF(seq);
    return NULL;
}

/* Send messages[0 .. count) on fd. A partial sendmmsg resumes where it stopped; the message a
 * call fails on (EAGAIN with a full send buffer, a destination the kernel refuses) is not
 * delivered, and the ones after it still go. */
static void send_batch(int fd, Message *messages, const Buffer *buffers, unsigned int count, long *delivered,
                       long *as_red) {
    unsigned int next = 0;
    while (next < count) {
        int sent = send_messages(fd, messages + next, count - next);
        if (sent <= 0) {
            next++;
            continue;
        }
        for (unsigned int end = next + (unsigned int)sent; next < end; next++) {
            if (messages[next].msg_len == buffers[next].iov.iov_len) {
                (*delivered)++;
                *as_red += buffers[next].red;
            }
        }
    }
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
    Plan *plan = &self->plan;
    long delivered = 0, as_red = 0;
    for (Py_ssize_t g = 0; g < plan->group_count; g++) {
        const Group *group = &plan->groups[g];
        unsigned int m = 0;
        for (Py_ssize_t i = group->first; i < group->first + group->count; i++) {
            Target *t = &plan->targets[plan->order[i].index];
            Py_ssize_t v = red ? t->variant : 0;
            if (v >= variants) continue;  /* no such variant: set_targets and the caller disagree */
            PyObject *payload = PyTuple_GET_ITEM(payloads, v);
            Py_ssize_t size = PyBytes_GET_SIZE(payload);
            Buffer *b = &plan->buffers[m];
            unsigned char *buffer = b->data;
            buffer[0] = 0x80;
            buffer[1] = (uint8_t)((marker ? 0x80 : 0) | (red ? t->red_payload_type : t->payload_type));
            buffer[2] = seq >> 8; buffer[3] = seq;
            buffer[4] = ts >> 24; buffer[5] = ts >> 16; buffer[6] = ts >> 8; buffer[7] = ts;
            memcpy(buffer + 8, t->ssrc, 4);
            memcpy(buffer + 12, PyBytes_AS_STRING(payload), size);
            int len = 12 + (int)size;
            if (self->protect(t->srtp, buffer, &len) != 0) continue;
            b->iov.iov_len = (size_t)len;
            b->red = v > 0;
            plan->messages[m].msg_hdr.msg_name = &t->addr;
            plan->messages[m].msg_hdr.msg_namelen = t->addrlen;
            m++;
        }
        send_batch(group->fd, plan->messages, plan->buffers, m, &delivered, &as_red);
    }
    return Py_BuildValue("(ll)", delivered, as_red);
}

static PyObject *FanOut_len(FanOut *self, PyObject *unused) { return PyLong_FromSsize_t(self->plan.count); }

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
