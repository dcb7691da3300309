/**
 * The edits scripts/patch-cap.js makes to cap 0.2.1's src/binding.cc, as exact string
 * replacements: each `from` must occur exactly once in the stock source (checked before anything is
 * written). What they add, all opt-in, so that code written for stock cap behaves as before:
 *
 * - `Cap#stats()` → `{ received, dropped, ifDropped }` from pcap_stats();
 * - `packet` events also carry the capture timestamp (sec, usec) and the length on the wire;
 * - `open(device, filter, bufSize, buffer, timeoutMs, batch)`: with `timeoutMs > 0` the handle is
 *   NOT in immediate mode, so Linux libpcap uses TPACKET_V3, whose blocks pack frames by their
 *   real size (immediate mode forces TPACKET_V2, one MTU-sized slot per frame: a 32 MiB buffer
 *   holds only ~3 600 frames on a 9000-byte MTU port), and hands a block over when it is full or
 *   `timeoutMs` old. With `batch` true, frames are copied back to back into `buffer` as records
 *   `[capLen u32][wireLen u32][tsSec u32][tsUsec u32][bytes, padded to 4]` (host byte order) and
 *   one `packets` event `(usedBytes, count)` is emitted per full buffer and at the end of each
 *   read, instead of one JavaScript call per frame;
 * - `Cap#pause()` / `Cap#resume()` (not on Windows): stop and restart reading, so that frames
 *   wait in the kernel buffer while the consumer's queues are full;
 * - the module exports `otwatchPatch` (the level below) so that callers can tell what they have.
 */

/** Bump when the edits change: patch-cap.js rebuilds a binding patched at another level. */
export const PATCH_LEVEL = 4;

export const MARKER = `otwatch-patch ${PATCH_LEVEL}`;

/** [what, from, to] */
export const EDITS = [
  [
    'batch state',
    '    char *buffer_data;\n    size_t buffer_length;\n',
    `    char *buffer_data;
    size_t buffer_length;
    // ${MARKER}: batched delivery state.
    bool batch;
    bool paused;
    size_t batch_used;
    uint32_t batch_count;
`,
  ],
  [
    'batch state init',
    '      buffer_length = 0;\n      closing = false;\n',
    '      buffer_length = 0;\n      batch = false;\n      paused = false;\n      batch_used = 0;\n      batch_count = 0;\n      closing = false;\n',
  ],
  [
    'packet delivery',
    `      memcpy(obj->buffer_data, pkt_data, copy_len);

      Local<Value> emit_argv[3] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>(copy_len),
        Nan::New<Boolean>(truncated)
      };
      obj->async_res.runInAsyncScope(
        Nan::New<Object>(obj->persistent()),
        Nan::New<Function>(obj->Emit),
        3,
        emit_argv
      );
    }
`,
    `      memcpy(obj->buffer_data, pkt_data, copy_len);

      // otwatch: also pass the capture timestamp and the length on the wire.
      Local<Value> emit_argv[6] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>(copy_len),
        Nan::New<Boolean>(truncated),
        Nan::New<Number>((double)pkt_hdr->ts.tv_sec),
        Nan::New<Number>((double)pkt_hdr->ts.tv_usec),
        Nan::New<Number>(pkt_hdr->len)
      };
      obj->async_res.runInAsyncScope(
        Nan::New<Object>(obj->persistent()),
        Nan::New<Function>(obj->Emit),
        6,
        emit_argv
      );
    }

    // otwatch: hand the frames copied so far to JavaScript in one call.
    void FlushBatch() {
      if (batch_count == 0)
        return;
      Nan::HandleScope scope;
      Local<Value> argv[3] = {
        Nan::New<String>(packets_symbol),
        Nan::New<Number>((double)batch_used),
        Nan::New<Number>(batch_count)
      };
      batch_used = 0;
      batch_count = 0;
      async_res.runInAsyncScope(Nan::New<Object>(persistent()), Nan::New<Function>(Emit), 3, argv);
    }

    // otwatch: append one frame to the batch (flushing first when it would not fit).
    static void BatchPacket(u_char* user,
                            const struct pcap_pkthdr* pkt_hdr,
                            const u_char* pkt_data) {
      Pcap *obj = (Pcap*) user;
      size_t room = (obj->buffer_length & ~(size_t)3) - 16;
      size_t copy_len = pkt_hdr->caplen > room ? room : pkt_hdr->caplen;
      size_t need = (16 + copy_len + 3) & ~(size_t)3;
      if (obj->batch_used + need > obj->buffer_length)
        obj->FlushBatch();
      if (obj->closing)
        return;
      uint32_t hdr[4] = {
        (uint32_t)copy_len,
        (uint32_t)pkt_hdr->len,
        (uint32_t)pkt_hdr->ts.tv_sec,
        (uint32_t)pkt_hdr->ts.tv_usec
      };
      char *at = obj->buffer_data + obj->batch_used;
      memcpy(at, hdr, 16);
      memcpy(at + 16, pkt_data, copy_len);
      obj->batch_used += need;
      obj->batch_count++;
    }
`,
  ],
  [
    'batched read loop',
    `        do {
          packet_count = pcap_dispatch(obj->pcap_handle,
                                       1,
                                       Pcap::EmitPacket,
                                       (u_char*)obj);
        } while (packet_count > 0 && !obj->closing);

        obj->handling_packets = false;
`,
    `        pcap_handler handler = obj->batch ? Pcap::BatchPacket : Pcap::EmitPacket;
        do {
          packet_count = pcap_dispatch(obj->pcap_handle,
                                       1,
                                       handler,
                                       (u_char*)obj);
        } while (packet_count > 0 && !obj->closing && !obj->paused);
        if (obj->batch && !obj->closing)
          obj->FlushBatch();

        obj->handling_packets = false;
`,
  ],
  [
    'open options',
    `      if (!Buffer::HasInstance(info[3]))
        return Nan::ThrowTypeError("buffer must be a Buffer");
`,
    `      if (!Buffer::HasInstance(info[3]))
        return Nan::ThrowTypeError("buffer must be a Buffer");

      // otwatch: optional timeoutMs (> 0: not immediate mode) and batch.
      int timeout_ms = 1000;
      bool immediate = true;
      if (info.Length() >= 5 && info[4]->IsUint32() && Nan::To<uint32_t>(info[4]).FromJust() > 0) {
        timeout_ms = (int)Nan::To<uint32_t>(info[4]).FromJust();
        immediate = false;
      }
      bool batch = info.Length() >= 6 && Nan::To<bool>(info[5]).FromJust();
      if (batch && Buffer::Length(info[3]) < 65535 + 16 + 4)
        return Nan::ThrowTypeError("a batch buffer must hold at least one full frame");
`,
  ],
  [
    'batch mode on open',
    '      obj->buffer_length = Buffer::Length(buffer_obj);\n',
    '      obj->buffer_length = Buffer::Length(buffer_obj);\n      obj->batch = batch;\n      obj->paused = false;\n      obj->batch_used = 0;\n      obj->batch_count = 0;\n',
  ],
  [
    'read timeout',
    '      if (pcap_set_timeout(obj->pcap_handle, 1000) != 0)\n',
    '      if (pcap_set_timeout(obj->pcap_handle, timeout_ms) != 0)\n',
  ],
  ['immediate mode', '      if (set_immediate_mode != nullptr)\n', '      if (set_immediate_mode != nullptr && immediate)\n'],
  [
    'stats method',
    '    static NAN_METHOD(Close) {\n',
    `#ifndef _WIN32
    // otwatch: stop reading (frames wait in the kernel buffer, where the kernel counts what it
    // must drop) until resume(); called by JavaScript when its queues are full. Reading stops at
    // the end of the batch being delivered.
    static NAN_METHOD(Pause) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());
      if (obj->pcap_handle == nullptr || obj->closing || obj->paused)
        return;
      obj->paused = true;
      uv_poll_stop(&obj->poll_handle);
    }

    static NAN_METHOD(Resume) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());
      if (obj->pcap_handle == nullptr || obj->closing || !obj->paused)
        return;
      obj->paused = false;
      uv_poll_start(&obj->poll_handle, UV_READABLE, cb_packets);
      // libpcap may hold the rest of a TPACKET_V3 block it already took from the kernel, which
      // poll() cannot see: read now rather than when the next block is ready (maybe never).
      if (!obj->handling_packets)
        cb_packets(&obj->poll_handle, 0, UV_READABLE);
    }
#endif

    // otwatch: pcap_stats() as { received, dropped, ifDropped }.
    static NAN_METHOD(Stats) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());
      if (obj->pcap_handle == nullptr || obj->closing)
        return Nan::ThrowError("Not open");
      struct pcap_stat ps;
      if (pcap_stats(obj->pcap_handle, &ps) != 0)
        return Nan::ThrowError(pcap_geterr(obj->pcap_handle));
      Local<Object> ret = Nan::New<Object>();
      Nan::Set(ret, Nan::New<String>("received").ToLocalChecked(), Nan::New<Number>(ps.ps_recv));
      Nan::Set(ret, Nan::New<String>("dropped").ToLocalChecked(), Nan::New<Number>(ps.ps_drop));
      Nan::Set(ret, Nan::New<String>("ifDropped").ToLocalChecked(), Nan::New<Number>(ps.ps_ifdrop));
      info.GetReturnValue().Set(ret);
    }

    static NAN_METHOD(Close) {
`,
  ],
  [
    'stats registration',
    '      Nan::SetPrototypeMethod(tpl, "close", Close);\n',
    '      Nan::SetPrototypeMethod(tpl, "close", Close);\n      Nan::SetPrototypeMethod(tpl, "stats", Stats);\n#ifndef _WIN32\n      Nan::SetPrototypeMethod(tpl, "pause", Pause);\n      Nan::SetPrototypeMethod(tpl, "resume", Resume);\n#endif\n',
  ],
  [
    'packets symbol',
    'static Nan::Persistent<String> packet_symbol;\n',
    'static Nan::Persistent<String> packet_symbol;\nstatic Nan::Persistent<String> packets_symbol;\n',
  ],
  [
    'packets symbol init and patch level',
    '      packet_symbol.Reset(Nan::New<String>("packet").ToLocalChecked());\n',
    `      packet_symbol.Reset(Nan::New<String>("packet").ToLocalChecked());
      packets_symbol.Reset(Nan::New<String>("packets").ToLocalChecked());
      // ${MARKER}
      Nan::Set(target, Nan::New<String>("otwatchPatch").ToLocalChecked(), Nan::New<Number>(${PATCH_LEVEL})).FromJust();
`,
  ],
];
