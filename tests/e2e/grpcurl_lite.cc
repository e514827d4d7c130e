// A stand-in for grpcurl (which cannot be installed here), for the README walkthrough test. Like
// grpcurl it knows nothing of walletd's protos: it asks the server through reflection. It accepts
// the subset of grpcurl's syntax the README and the tests use and prints in grpcurl's format:
//   grpcurl CONNECTION [-d JSON] [-H 'name: value']... ADDRESS list [SERVICE]
//   grpcurl CONNECTION ADDRESS describe SYMBOL
//   grpcurl CONNECTION [-d JSON] [-H 'name: value']... ADDRESS package.Service/Method
// where CONNECTION is -plaintext, or TLS (as grpcurl, the default):
//   [-cacert FILE] [-cert FILE -key FILE] [-authority NAME]
// trusting the CA certificates in -cacert (gRPC's default roots without it), presenting a client
// certificate, and checking the server's certificate for NAME instead of ADDRESS's host (NAME is
// also sent as :authority).
// Exit status: 0, 64 + the gRPC code when the call fails (as grpcurl), 2 for usage errors.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace {

namespace pb = google::protobuf;
namespace refl = grpc::reflection::v1alpha;

constexpr int kUsage = 2;
constexpr int kStatusCodeOffset = 64;  // grpcurl's exit status for a failed RPC: 64 + code.

int Fail(const std::string& message, int code = 1) {
  std::cerr << "Failed: " << message << "\n";
  return code;
}

// The server's descriptors, fetched through reflection on demand.
class Reflection {
 public:
  explicit Reflection(std::shared_ptr<grpc::Channel> channel)
      : stub_(refl::ServerReflection::NewStub(channel)) {}

  bool ListServices(std::vector<std::string>* names) {
    refl::ServerReflectionRequest request;
    request.set_list_services("");
    refl::ServerReflectionResponse response;
    if (!RoundTrip(request, &response)) return false;
    for (const auto& s : response.list_services_response().service()) names->push_back(s.name());
    std::sort(names->begin(), names->end());
    return true;
  }

  // Loads the file defining `symbol` and its dependencies into the pool.
  bool LoadSymbol(const std::string& symbol) {
    refl::ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    return Load(request);
  }

  const pb::DescriptorPool& pool() const { return pool_; }

 private:
  bool RoundTrip(const refl::ServerReflectionRequest& request,
                 refl::ServerReflectionResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub_->ServerReflectionInfo(&ctx);
    if (!stream->Write(request) || !stream->Read(response)) return false;
    stream->WritesDone();
    if (response->has_error_response()) {
      std::cerr << "Failed to resolve: " << response->error_response().error_message() << "\n";
      return false;
    }
    return stream->Finish().ok();
  }

  bool Load(const refl::ServerReflectionRequest& request) {
    refl::ServerReflectionResponse response;
    if (!RoundTrip(request, &response)) return false;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) return false;
      files_[file.name()] = file;
    }
    for (const auto& [name, file] : std::map(files_)) {
      for (const std::string& dep : file.dependency()) {
        if (files_.count(dep)) continue;
        refl::ServerReflectionRequest more;
        more.set_file_by_filename(dep);
        if (!Load(more)) return false;
      }
    }
    for (const auto& [name, file] : std::map(files_)) {
      if (!Build(name)) return false;
    }
    return true;
  }

  bool Build(const std::string& name) {
    if (pool_.FindFileByName(name) != nullptr) return true;
    auto it = files_.find(name);
    if (it == files_.end()) return false;
    for (const std::string& dep : it->second.dependency()) {
      if (!Build(dep)) return false;
    }
    return pool_.BuildFile(it->second) != nullptr;
  }

  std::unique_ptr<refl::ServerReflection::Stub> stub_;
  std::map<std::string, pb::FileDescriptorProto> files_;
  pb::DescriptorPool pool_;
};

// Protobuf's JSON in grpcurl's layout: two spaces per level (protobuf indents by one).
std::string ToJson(const pb::Message& message) {
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  (void)pb::util::MessageToJsonString(message, &json, options);
  std::string out;
  bool line_start = true;
  for (char c : json) {
    if (line_start && c == ' ') {
      out += "  ";
      continue;
    }
    line_start = c == '\n';
    out.push_back(c);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK", "Canceled", "Unknown", "InvalidArgument",
                                 "DeadlineExceeded", "NotFound", "AlreadyExists",
                                 "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
                                 "Aborted", "OutOfRange", "Unimplemented", "Internal",
                                 "Unavailable", "DataLoss", "Unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "Unknown";
}

// grpcurl's error report: code, message, and the details (google.rpc.ErrorInfo here).
void PrintError(const grpc::Status& status) {
  std::cout << "ERROR:\n  Code: " << CodeName(status.error_code())
            << "\n  Message: " << status.error_message() << "\n";
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return;
  std::cout << "  Details:\n";
  int n = 0;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    std::string json = any.UnpackTo(&info) ? ToJson(info) : "{}";
    json.insert(1, "\n  \"@type\": \"" + any.type_url() + "\",");
    std::string indented;
    for (char c : json) {
      indented.push_back(c);
      if (c == '\n') indented += "    \t";
    }
    std::cout << "  " << ++n << ")\t" << indented << "\n";
  }
}

int Invoke(const std::shared_ptr<grpc::Channel>& channel, Reflection& reflection,
           const std::string& target, const std::string& data,
           const std::vector<std::pair<std::string, std::string>>& headers) {
  const size_t slash = target.rfind('/');
  if (slash == std::string::npos) return Fail("expected SERVICE/METHOD, got " + target, kUsage);
  const std::string service = target.substr(0, slash);
  if (!reflection.LoadSymbol(service)) return Fail("cannot resolve " + service);
  const pb::MethodDescriptor* method =
      reflection.pool().FindMethodByName(service + "." + target.substr(slash + 1));
  if (method == nullptr) return Fail("service " + service + " has no such method");
  pb::DynamicMessageFactory factory(&reflection.pool());
  std::unique_ptr<pb::Message> request(factory.GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(factory.GetPrototype(method->output_type())->New());
  if (!data.empty()) {
    auto parsed = pb::util::JsonStringToMessage(data, request.get());
    if (!parsed.ok()) return Fail("error getting request data: " + parsed.ToString());
  }
  const std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  for (const auto& [name, value] : headers) ctx.AddMetadata(name, value);
  grpc::CompletionQueue cq;
  grpc::GenericStub stub(channel);
  auto call = stub.PrepareUnaryCall(&ctx, "/" + target, request_buffer, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response_buffer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok)) return Fail("no reply");
  if (!status.ok()) {
    PrintError(status);
    return kStatusCodeOffset + static_cast<int>(status.error_code());
  }
  std::vector<grpc::Slice> slices;
  (void)response_buffer.Dump(&slices);
  std::string reply;
  for (const auto& s : slices) reply.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (!response->ParseFromString(reply)) return Fail("cannot decode the response");
  std::cout << ToJson(*response) << "\n";
  return 0;
}

bool ReadFile(const std::string& path, std::string* content) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  *content = text.str();
  return in.good() || in.eof();
}

struct Connection {
  bool plaintext = false;
  std::string cacert, cert, key, authority;  // File names, and a name.
};

// The channel `connection` asks for; nullptr after printing why it cannot be made.
std::shared_ptr<grpc::Channel> Connect(const std::string& address, const Connection& connection) {
  grpc::ChannelArguments args;
  if (!connection.authority.empty()) {
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, connection.authority);
  }
  if (connection.plaintext) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions tls;
  for (const auto& [path, pem] : {std::pair{&connection.cacert, &tls.pem_root_certs},
                                  {&connection.cert, &tls.pem_cert_chain},
                                  {&connection.key, &tls.pem_private_key}}) {
    if (!path->empty() && !ReadFile(*path, pem)) {
      Fail("cannot read " + *path);
      return nullptr;
    }
  }
  if (!connection.authority.empty()) args.SetSslTargetNameOverride(connection.authority);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args);
}

int Describe(Reflection& reflection, const std::string& symbol) {
  if (!reflection.LoadSymbol(symbol)) return Fail("cannot resolve " + symbol);
  const pb::ServiceDescriptor* service = reflection.pool().FindServiceByName(symbol);
  if (service == nullptr) return Fail(symbol + " is not a service");
  std::cout << symbol << " is a service:\n" << service->DebugString();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string data;
  std::vector<std::pair<std::string, std::string>> headers;
  Connection connection;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-plaintext") {
      connection.plaintext = true;
    } else if (args[i] == "-cacert" && i + 1 < args.size()) {
      connection.cacert = args[++i];
    } else if (args[i] == "-cert" && i + 1 < args.size()) {
      connection.cert = args[++i];
    } else if (args[i] == "-key" && i + 1 < args.size()) {
      connection.key = args[++i];
    } else if (args[i] == "-authority" && i + 1 < args.size()) {
      connection.authority = args[++i];
    } else if (args[i] == "-d" && i + 1 < args.size()) {
      data = args[++i];
    } else if (args[i] == "-H" && i + 1 < args.size()) {
      const std::string& h = args[++i];
      const size_t colon = h.find(':');
      if (colon == std::string::npos) return Fail("bad header " + h, kUsage);
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers.emplace_back(h.substr(0, colon), value);
    } else if (!args[i].empty() && args[i][0] == '-') {
      return Fail("unsupported option " + args[i], kUsage);
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.size() < 2) {
    return Fail("usage: grpcurl [-plaintext | [-cacert F] [-cert F -key F]] [-authority NAME] "
                "[-d JSON] [-H 'k: v'] ADDRESS list|describe|SERVICE/METHOD",
                kUsage);
  }
  const bool tls_files = !connection.cacert.empty() || !connection.cert.empty() ||
                         !connection.key.empty();
  if (connection.plaintext && tls_files) {
    return Fail("-cacert, -cert and -key are for TLS: they do not go with -plaintext", kUsage);
  }
  if (connection.cert.empty() != connection.key.empty()) {
    return Fail("-cert and -key go together", kUsage);
  }
  auto channel = Connect(positional[0], connection);
  if (channel == nullptr) return 1;
  Reflection reflection(channel);
  const std::string& verb = positional[1];
  if (verb == "list" && positional.size() == 2) {
    std::vector<std::string> names;
    if (!reflection.ListServices(&names)) return Fail("cannot list services");
    for (const auto& n : names) std::cout << n << "\n";
    return 0;
  }
  if (verb == "list" && positional.size() == 3) {
    if (!reflection.LoadSymbol(positional[2])) return Fail("cannot resolve " + positional[2]);
    const pb::ServiceDescriptor* service = reflection.pool().FindServiceByName(positional[2]);
    if (service == nullptr) return Fail(positional[2] + " is not a service");
    for (int i = 0; i < service->method_count(); ++i) {
      std::cout << service->method(i)->full_name() << "\n";
    }
    return 0;
  }
  if (verb == "describe" && positional.size() == 3) return Describe(reflection, positional[2]);
  if (positional.size() == 2) return Invoke(channel, reflection, verb, data, headers);
  return Fail("unsupported command line", kUsage);
}
