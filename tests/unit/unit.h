/*
 * unit.h - shared by the check suites in tests/unit/.  Each test_<module>.c
 * defines make_suite() and includes this file once; SY_UNIT_MAIN runs it
 * and exits non-zero on any failure.
 */
#ifndef SWITCHYARD_UNIT_H
#define SWITCHYARD_UNIT_H

#include <check.h>
#include <stdlib.h>

#define SY_UNIT_MAIN(make_suite_fn) \
	int main(void) \
	{ \
		SRunner *sr = srunner_create(make_suite_fn()); \
		srunner_run_all(sr, CK_NORMAL); \
		int failed = srunner_ntests_failed(sr); \
		srunner_free(sr); \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
	}

#endif
