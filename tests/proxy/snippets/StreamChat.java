// Java with the JDK alone (java.net.http), through `odsc-llm proxy`: no OCI SDK, no
// signing code. Run as a single-file program: java StreamChat.java
// OPENAI_BASE_URL and OPENAI_API_KEY come from the proxy's export lines.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class StreamChat {
    public static void main(String[] args) throws Exception {
        String body = "{\"model\": \"odsc-llm\", \"stream\": true, \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"hello from java\"}]}";
        HttpRequest request = HttpRequest.newBuilder()
                .uri(URI.create(System.getenv("OPENAI_BASE_URL") + "/chat/completions"))
                .header("Authorization", "Bearer " + System.getenv("OPENAI_API_KEY"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        Pattern content = Pattern.compile("\"content\":\"((?:[^\"\\\\]|\\\\.)*)\"");
        StringBuilder text = new StringBuilder();
        HttpClient.newHttpClient()
                .send(request, HttpResponse.BodyHandlers.ofLines())
                .body()
                .filter(line -> line.startsWith("data: ") && !line.equals("data: [DONE]"))
                .forEach(line -> {
                    Matcher m = content.matcher(line);
                    if (m.find()) {
                        text.append(m.group(1));  // a real program would use a JSON library
                    }
                });
        System.out.println(text);
    }
}
