# Everything a newcomer needs: `make local` runs the API, `make test` passes the tests.
# sam build runs this file too (BuildMethod: makefile) from a scratch folder: ROOT finds the project.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
SHELL := /bin/bash
export SAM_CLI_TELEMETRY := 0
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13: prefer it (PATH, then pyenv), else any python3 >= 3.11.
PYTHON ?= $(shell $(ROOT)tools/find-python)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
STAMP := $(VENV)/.installed

.PHONY: help install chromium test lint format template build check-build local bench bench-first-request bench-cold-against bench-authorizer bench-login-timing bench-account-timing bench-load deploy deploy-jwt clean dashboard

# `make help` prints every target's `## ` comment, in this file's order: document a target there.
help: ## this list
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / {printf "make %-20s %s\n", $$1, $$2}' $(ROOT)Makefile

# aws-jwt-verify for tests/oidc (an independent verifier of our tokens), from its lock file.
NODE_VERIFIER := tests/oidc/node/node_modules/.package-lock.json

install: $(STAMP) $(NODE_VERIFIER) ## the project and its dev tools into .venv (test, lint... run it when needed)

$(NODE_VERIFIER): tests/oidc/node/package.json tests/oidc/node/package-lock.json
	npm ci --prefix tests/oidc/node --no-audit --no-fund

$(STAMP): pyproject.toml constraints.txt client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' -e ./client
	touch $(STAMP)

# make local needs only the runtime, moto's server and the template reader: a quick install.
LOCAL_STAMP := $(VENV)/.installed-local
PORT ?= 3000
STORAGE_PORT ?= 8000
# PERSIST=1 keeps the local table and secrets in .local/state/ between runs.
# CONTAINERS=N: at most N containers (worker processes) per function under load (default 4).
PERSIST ?=
# PARAMS: template parameter overrides, e.g. make local PARAMS="Algorithm=RS256 Audience=shop-api"
PARAMS ?=

$(LOCAL_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local]'
	touch $(LOCAL_STAMP)

# The demo storefront (examples/storefront/) on its own origin, which the API allows by default.
STOREFRONT_PORT ?= 5173
ALLOWED_ORIGINS ?= http://localhost:$(STOREFRONT_PORT)
# The local OpenID provider the storefront's "Sign in with Google" uses (tools/local_oidc.py).
OIDC_PORT ?= 9400

local: $(LOCAL_STAMP) ## the API on http://127.0.0.1:3000, moto behind it, the demo storefront on http://localhost:5173, a local "Google" on 9400 (PORT=, STORAGE_PORT=, PERSIST=1, STOREFRONT_PORT=, ALLOWED_ORIGINS=, OIDC_PORT=, CONTAINERS=, PARAMS=, AUTHORIZER_MODE=jwt: API Gateway's JWT authorizer on an RS256 stack)
	$(BIN)/python -m tools.local_server --port $(PORT) --storage-port $(STORAGE_PORT) $(if $(filter 1,$(PERSIST)),--persist) \
		--storefront-port $(STOREFRONT_PORT) --allowed-origins "$(ALLOWED_ORIGINS)" $(if $(CONTAINERS),--max-containers $(CONTAINERS)) \
		--oidc-port $(OIDC_PORT) \
		$(if $(PARAMS)$(AUTHORIZER_MODE),--parameter-overrides $(if $(filter jwt,$(AUTHORIZER_MODE)),Algorithm=RS256) $(if $(AUTHORIZER_MODE),AuthorizerMode=$(AUTHORIZER_MODE)) $(PARAMS))

# The storefront's browser tests drive Debian's Chromium and its chromedriver (never a downloaded browser).
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)
chromium: ## Debian's chromium and chromium-driver for the browser tests, installed when missing
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ $(AS_ROOT) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(AS_ROOT) apt-get install -y -q chromium chromium-driver; }

# AREA=<folder of tests/> runs that part alone (README "Checks" says how long each takes);
# without AREA, everything (CI). Only the browser area needs Chromium.
AREAS := unit contract adversarial integration client oidc browser
AREA ?=
test: install $(SAM) $(if $(filter-out browser,$(AREA)),,chromium) ## the test suite, about 25 minutes on 2 cores (AREA=unit, contract, adversarial, integration, client, oidc or browser: one part)
	$(if $(AREA),$(if $(filter-out $(AREAS),$(AREA)),$(error AREA=$(AREA) is not one of: $(AREAS))))
	$(BIN)/python -m pytest $(addprefix tests/,$(AREA))

lint: install ## ruff (lint and format check) and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions tools tests bench client

# cfn-lint checks the templates in several regions: the extension's layer comes from a per-region mapping.
TEMPLATE_REGIONS := us-east-1 us-west-2 eu-west-1 eu-central-1 ap-southeast-2 ap-northeast-1 sa-east-1
template: install $(SAM) ## cfn-lint (seven regions), sam validate --lint and the resource count after the SAM transform, on template.yaml and examples/downstream
	$(BIN)/cfn-lint --regions $(TEMPLATE_REGIONS) -- template.yaml examples/downstream/template.yaml
	$(SAM) validate --lint --region us-east-1
	$(SAM) validate --lint --region eu-west-1
	$(SAM) validate --lint --region us-east-1 --template examples/downstream/template.yaml
	$(SAM_VENV)/bin/python -m tools.count_resources template.yaml examples/downstream/template.yaml
	$(SAM_VENV)/bin/python -m tools.jwt_stack template.yaml --placeholder-code --out .aws-sam/jwt-stack-check.json
	$(BIN)/cfn-lint --regions $(TEMPLATE_REGIONS) -- .aws-sam/jwt-stack-check.json

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)

build: $(SAM) ## sam build: one arm64 bundle per function (needs python3.13 on PATH or in pyenv)
	$(SAM) build

# CONFIG_ENV picks the samconfig.toml environment (default = dev, prod).
CONFIG_ENV ?= default
deploy: build ## sam deploy (CONFIG_ENV=prod for production; default: dev)
	$(SAM) deploy --config-env $(CONFIG_ENV)

# AuthorizerMode=jwt (docs/jwt-authorizer-mode.md): SAM cannot attach the API's methods to a REST JWT
# authorizer, so the packaged template is transformed here and its API compiled into CloudFormation's
# own resources (tools/jwt_stack.py), then deployed. The config env must set Algorithm=RS256 or ES256
# and CustomDomainName or Issuer; deploy AuthorizerMode=lambda first (the issuer must be served).
deploy-jwt: build ## sam package, the protected methods attached to API Gateway's JWT authorizer, sam deploy (CONFIG_ENV=)
	$(SAM) package --config-env $(CONFIG_ENV) --output-template-file .aws-sam/packaged.yaml
	$(SAM_VENV)/bin/python -m tools.jwt_stack .aws-sam/packaged.yaml --config-env $(CONFIG_ENV) --out .aws-sam/jwt-stack.json
	$(SAM) deploy --config-env $(CONFIG_ENV) --template-file .aws-sam/jwt-stack.json

# sam build for Lambda (arm64), the same recipe for this machine, then every built handler
# imported and served one event in a clean interpreter with only its bundle (and the layers it
# always has) on sys.path; tools/check_bundles.py reads the template with the SAM CLI's PyYAML.
check-build: $(SAM) ## sam build, then every built handler imported and served an event
	$(SAM) build
	LAMBDA_ARCH=$$(uname -m) $(SAM) build --build-dir .aws-sam/build-host --cache-dir .aws-sam/cache-host
	$(SAM_VENV)/bin/python -m tools.check_bundles .aws-sam/build .aws-sam/build-host

# One bundle per function, for python3.13 on arm64: its own requirements (manylinux wheels,
# so no Docker), the handler and the shared package tree (its subpackages' .py files).
# botocore's data cut to the services the clients use (tools/botocore_data.py), and everything
# byte-compiled (Lambda's /var/task is read-only: without .pyc every cold start compiles), for a
# faster cold start.
# LAMBDA_ARCH=x86_64 builds the same bundles for this machine, so check-build can import them.
LAMBDA_ARCH ?= aarch64
LAMBDA_PIP = $(PYTHON) -m pip install --quiet --no-compile --disable-pip-version-check \
	--target "$(ARTIFACTS_DIR)" --implementation cp --root-user-action=ignore \
	--platform manylinux_2_28_$(LAMBDA_ARCH) --platform manylinux_2_17_$(LAMBDA_ARCH) \
	--platform manylinux2014_$(LAMBDA_ARCH) \
	--python-version 3.13 --only-binary=:all: -c $(ROOT)constraints.txt
define lambda_bundle
	$(LAMBDA_PIP) -r $(ROOT)functions/$(1)/requirements.txt
	cp $(ROOT)functions/$(1)/app.py "$(ARTIFACTS_DIR)/"
	cd $(ROOT) && find shared -name "*.py" -not -path "*/__pycache__/*" -exec cp --parents {} "$(ARTIFACTS_DIR)/" \;
	rm -rf "$(ARTIFACTS_DIR)"/bin
	$(PYTHON) $(ROOT)tools/botocore_data.py "$(ARTIFACTS_DIR)"
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)" >/dev/null
endef

# The password policy's list of common passwords is Django's own file, taken at build time
# from the pinned Django wheel (80 KB), so no bundle carries Django and no copy lives in git.
define common_password_list
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --disable-pip-version-check \
		-c $(ROOT)constraints.txt -d "$(ARTIFACTS_DIR)/.django-wheel" django
	$(PYTHON) -c 'import sys, glob, zipfile; wheel = glob.glob(sys.argv[1] + "/*.whl")[0]; \
		open(sys.argv[2], "wb").write(zipfile.ZipFile(wheel).read("django/contrib/auth/common-passwords.txt.gz"))' \
		"$(ARTIFACTS_DIR)/.django-wheel" "$(ARTIFACTS_DIR)/shared/accounts/common-passwords.txt.gz"
	rm -rf "$(ARTIFACTS_DIR)/.django-wheel"
endef

build-ObtainTokenFunction:
	$(call lambda_bundle,obtain_token)
build-RefreshTokenFunction:
	$(call lambda_bundle,refresh_token)
build-VerifyTokenFunction:
	$(call lambda_bundle,verify_token)
build-BlacklistTokenFunction:
	$(call lambda_bundle,blacklist_token)
build-JwksFunction:
	$(call lambda_bundle,jwks)
build-RotateKeysFunction:
	$(call lambda_bundle,rotate_keys)
build-CryptographyLayer:
	$(LAMBDA_PIP) --target "$(ARTIFACTS_DIR)/python" cryptography
build-AuthorizerFunction:
	$(call lambda_bundle,authorizer)
build-CustomerProfileFunction:
	$(call lambda_bundle,customer_profile)
build-StaffFunction:
	$(call lambda_bundle,staff)
build-RegisterFunction:
	$(call lambda_bundle,register)
	$(call common_password_list)
build-VerifyEmailFunction:
	$(call lambda_bundle,verify_email)
	$(call common_password_list)
build-RequestMailFunction:
	$(call lambda_bundle,request_mail)
	$(call common_password_list)
build-ResetPasswordFunction:
	$(call lambda_bundle,reset_password)
	$(call common_password_list)
build-ChangePasswordFunction:
	$(call lambda_bundle,change_password)
	$(call common_password_list)
build-CurrentUserFunction:
	$(call lambda_bundle,current_user)
	$(call common_password_list)
build-SocialFunction:
	$(call lambda_bundle,social)
build-MfaFunction:
	$(call lambda_bundle,mfa)
build-MailerFunction:
	$(call lambda_bundle,mailer)
build-PasskeysFunction:
	$(call lambda_bundle,passkeys)

bench: install ## benchmarks next to Django + simplejwt (never part of make test)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/authorizer_versions.py

# The Lambda CPU model alone (also part of make bench); RUNS= cold starts per variant (default 11).
bench-first-request: install ## cold starts whose first request succeeds on moto, modelled on Lambda's CPU, next to Django's
	$(BIN)/python bench/first_request.py $(if $(RUNS),--runs $(RUNS))

# Another checkout's token functions next to this one's, interleaved (OTHER=, e.g. a worktree of main).
bench-cold-against: install ## cold starts of the token functions here and in OTHER= (a checkout), interleaved; RUNS=
	cd bench && ../$(BIN)/python coldstart_against.py $(OTHER) $(if $(RUNS),--runs $(RUNS))

# BASE= the commit to compare with (default: the last before issue 25's roles); ROUNDS= per tree (default 15).
bench-authorizer: install ## the authorizer's cold start and warm decision, this tree next to BASE, interleaved (also in make bench)
	$(BIN)/python bench/authorizer_versions.py $(if $(BASE),--base $(BASE)) $(if $(ROUNDS),--rounds $(ROUNDS))

bench-login-timing: install ## login timing: wrong password vs unknown email vs locked
	$(BIN)/python bench/login_timing.py

bench-account-timing: install ## account timing: registration new vs taken vs pending, reset known vs unknown
	$(BIN)/python bench/account_timing.py

# The local API under load; URL= targets a running one instead of starting its own.
DURATION ?= 60
CLIENTS ?= 32
bench-load: install ## make local under load: CLIENTS= for DURATION= s, CONTAINERS= (default 8); no reset, no 5xx, no lost session
	$(BIN)/python bench/load.py --duration $(DURATION) --clients $(CLIENTS) --containers $(or $(CONTAINERS),8) $(if $(URL),--url $(URL))

# The README's picture of the template's CloudWatch dashboard, filled from a run of the handlers on moto.
dashboard: install ## docs/dashboard.svg: the template's CloudWatch dashboard drawn from a local run of the handlers
	$(BIN)/python -m tools.render_dashboard --output docs/dashboard.svg

format: install ## ruff fixes and formats the code in place
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove .venv, .tools, build output and caches (not .local/)
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
