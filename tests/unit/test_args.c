// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cni/args.h"

static const char *const known[] = { "IP", "MAC", NULL };

static void test_parse(void **state)
{
	struct cni_args *a = NULL;
	struct cni_err err = { 0 };

	assert_int_equal(cni_args_parse("IP=10.0.0.5;K8S_POD_NAME=web-1;IP=10.0.0.6", &a, &err), 0);
	assert_string_equal(cni_args_get(a, "IP"), "10.0.0.6");
	assert_string_equal(cni_args_get(a, "K8S_POD_NAME"), "web-1");
	assert_null(cni_args_get(a, "ip"));
	assert_null(cni_args_get(a, "MAC"));
	/* Unknown keys fail unless IgnoreUnknown says otherwise. */
	assert_int_not_equal(cni_args_check(a, known, &err), 0);
	assert_int_equal(err.code, CNI_ERR_ENV);
	assert_non_null(strstr(err.msg, "K8S_POD_NAME"));
	cni_args_free(a);

	cni_err_clear(&err);
	assert_int_equal(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;MAC=aa:bb:cc:dd:ee:ff", &a, &err), 0);
	assert_int_equal(cni_args_check(a, known, &err), 0);
	assert_string_equal(cni_args_get(a, "MAC"), "aa:bb:cc:dd:ee:ff");
	cni_args_free(a);

	assert_int_equal(cni_args_parse("IgnoreUnknown=TRUE;X=1", &a, &err), 0);
	assert_int_equal(cni_args_check(a, known, &err), 0);
	cni_args_free(a);

	assert_int_equal(cni_args_parse("IgnoreUnknown=false;X=1", &a, &err), 0);
	assert_int_not_equal(cni_args_check(a, known, &err), 0);
	cni_args_free(a);

	cni_err_clear(&err);
	assert_int_equal(cni_args_parse("IgnoreUnknown=maybe", &a, &err), 0);
	assert_int_not_equal(cni_args_check(a, known, &err), 0);
	assert_non_null(strstr(err.msg, "IgnoreUnknown"));
	cni_args_free(a);
}

static void test_empty_and_bad(void **state)
{
	struct cni_args *a = NULL;
	struct cni_err err = { 0 };

	assert_int_equal(cni_args_parse(NULL, &a, &err), 0);
	assert_null(cni_args_get(a, "IP"));
	assert_int_equal(cni_args_check(a, known, &err), 0);
	cni_args_free(a);
	assert_int_equal(cni_args_parse("", &a, &err), 0);
	cni_args_free(a);
	a = NULL;
	assert_int_not_equal(cni_args_parse("IP=1.2.3.4;junk", &a, &err), 0);
	assert_null(a);
	assert_int_equal(err.code, CNI_ERR_ENV);
	assert_non_null(strstr(err.msg, "CNI_ARGS"));
	cni_err_clear(&err);
	assert_int_not_equal(cni_args_parse("=x", &a, &err), 0);
	cni_args_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_empty_and_bad),
	};

	return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
