# s3 parsers (path, xml_in).  The s3 sources are private headers of gw_s3.
foreach(t s3_path xml_complete_mpu xml_delete_objects xml_tagging)
    gw_fuzz_target(${t} gw_s3)
    target_include_directories(fuzz_${t} PRIVATE ${PROJECT_SOURCE_DIR}/s3)
endforeach()
