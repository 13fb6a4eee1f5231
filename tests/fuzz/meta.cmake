# meta_cmd_decode: arbitrary bytes as a metadata command (meta/cmd.c).  The seeds in
# corpus/meta_cmd_decode/type-NN.bin are real encodings of every command type, written by
# tests/unit/meta/test_cmd.c with META_SEED_DIR set.
gw_fuzz_target(meta_cmd_decode gw_meta)

# meta_seq: a sequence of log entries (u8 op | u16 length | bytes frames) applied to two
# stores: meta_apply must never stop on any input but a newer binary's command, and the two
# dumps must end equal.  corpus/meta_seq/seq-NN.bin are the fixed sequences of
# tests/unit/meta/test_model.c, written with MODEL_SEED_DIR set.
gw_fuzz_target(meta_seq gw_meta)
