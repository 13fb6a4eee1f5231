# meta_cmd_decode: arbitrary bytes as a metadata command (meta/cmd.c).  The seeds in
# corpus/meta_cmd_decode/type-NN.bin are real encodings of every command type, written by
# tests/unit/meta/test_cmd.c with META_SEED_DIR set.
gw_fuzz_target(meta_cmd_decode gw_meta)
